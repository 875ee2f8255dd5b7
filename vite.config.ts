import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
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
