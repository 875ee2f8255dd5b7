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
		include: ['src/**/*.test.ts', 'tests/integration/**/*.test.ts'],
		globalSetup: ['tests/support/global-setup.ts'],
		// Integration tests start real servers and a real Postgres; two cores do not
		// leave room for many files at once.
		maxWorkers: 2,
		testTimeout: 60_000,
		hookTimeout: 60_000
	}
});
