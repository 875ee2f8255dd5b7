import { fileURLToPath } from 'node:url';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	resolve: {
		// See src/lib/shims/tailwind-merge.ts.
		alias: { 'tailwind-merge': fileURLToPath(new URL('./src/lib/shims/tailwind-merge.ts', import.meta.url)) }
	},
	test: {
		// Integration tests start real servers and a real Postgres; two cores do not
		// leave room for many files at once.
		maxWorkers: 2,
		// Generous for a loaded shared machine (the 1,000,000-point unit tests included).
		testTimeout: 60_000,
		hookTimeout: 60_000,
		projects: [
			{
				// Pure modules beside their code: no database, no server; seconds in all.
				extends: true,
				test: { name: 'unit', include: ['src/**/*.test.ts'] }
			},
			{
				// One throwaway PostgreSQL cluster for the run, shared by every worker (each
				// test makes its own database on it), plus PGlite and real `node build` servers.
				extends: true,
				test: {
					name: 'integration',
					include: ['tests/integration/**/*.test.ts'],
					globalSetup: ['tests/support/global-setup.ts']
				}
			}
		]
	}
});
