import { fileURLToPath } from 'node:url';
import { sveltekit } from '@sveltejs/kit/vite';
import type { AddressInfo } from 'node:net';
import { defineConfig, type Plugin } from 'vitest/config';

/**
 * `vite dev` serves on 5173 (or the next free port) without setting PORT, which the
 * server's default instance id (<hostname>:<PORT>) reads: give it the port it really
 * listens on, so that logs and leases do not say 3000. The server's hooks load on the
 * first request, after this.
 */
function devPort(): Plugin {
	return {
		name: 'vapor-dev-port',
		apply: 'serve',
		configureServer(server) {
			server.httpServer?.once('listening', () => {
				const address = server.httpServer?.address() as AddressInfo | null;
				if (address && !process.env.PORT) process.env.PORT = String(address.port);
			});
		}
	};
}

export default defineConfig({
	plugins: [devPort(), sveltekit()],
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
				// Pure modules beside their code (the TypeScript client's too): no database, no
				// server; seconds in all.
				extends: true,
				test: { name: 'unit', include: ['src/**/*.test.ts', 'clients/typescript/src/**/*.test.ts'] }
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
