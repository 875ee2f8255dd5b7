import os from 'node:os';
import path from 'node:path';
import { defineConfig, devices } from '@playwright/test';

// Where global-setup.ts keeps the signed-in browser state; workers inherit it from here.
process.env.VAPOR_E2E_STATE ??= path.join(os.tmpdir(), `vapor-e2e-state-${process.pid}.json`);

/**
 * End-to-end tests against the built server (`npm run build` first).
 * tests/e2e/global-setup.ts starts `node build` on a fresh PGlite folder with the demo
 * jobs and hands its address to the workers through VAPOR_E2E_URL.
 */
export default defineConfig({
	testDir: 'tests/e2e',
	testMatch: '**/*.e2e.ts',
	// screenshots.e2e.ts exists to draw docs/screenshots/: only `npm run screenshots` runs it.
	testIgnore: process.env.VAPOR_SCREENSHOTS === '1' ? [] : ['**/screenshots.e2e.ts'],
	globalSetup: './tests/e2e/global-setup.ts',
	// A spec file's tests run in order. One worker by default: two (VAPOR_E2E_WORKERS=2) take
	// about a third off the wall time on two cores, but a live monitor page then gets so
	// little CPU that a page evaluation can wait 5 s (README, Testing).
	fullyParallel: false,
	workers: Number(process.env.VAPOR_E2E_WORKERS ?? 1),
	retries: 0,
	forbidOnly: true,
	reporter: 'list',
	timeout: 30_000,
	expect: { timeout: 5_000 },
	use: {
		baseURL: process.env.VAPOR_E2E_URL,
		// Signed in as the test admin to the shared server and each temp server (tests/e2e/auth-state.ts).
		storageState: process.env.VAPOR_E2E_STATE,
		// The running badge's pulse and the reconnect spinner stop (the app honours reduced motion):
		// an endless animation keeps headless Chromium compositing every frame, about a sixth of
		// Playwright's CPU on this machine (README, Testing).
		reducedMotion: 'reduce',
		// Recording a trace screencasts every test: about a quarter of Chromium's CPU and a seventh of
		// Playwright's wall time here. VAPOR_E2E_TRACE=1 keeps one for each failing test.
		trace: process.env.VAPOR_E2E_TRACE === '1' ? 'retain-on-failure' : 'off',
		screenshot: 'only-on-failure'
	},
	projects: [
		{
			name: 'chromium',
			use: {
				...devices['Desktop Chrome'],
				viewport: { width: 1280, height: 800 },
				launchOptions: {
					// Debian's Chromium; Playwright adds --no-sandbox itself.
					executablePath: '/usr/bin/chromium',
					args: [
						'--disable-gpu',
						'--disable-background-networking',
						'--disable-component-update',
						'--disable-sync',
						'--no-first-run'
					]
				}
			}
		}
	]
});
