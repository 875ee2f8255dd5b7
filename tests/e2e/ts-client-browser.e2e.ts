import path from 'node:path';
import { expect, test } from '@playwright/test';
import { buildTsClient, TS_CLIENT } from '../support/node-script';
import { authorization, TEST_TOKEN } from '../support/server';
import { SERVER_START_TIMEOUT, startTempServer, type TempServer } from './servers';

/**
 * The TypeScript client in a real browser, in a page on Vapor's own origin (Vapor sends no
 * CORS headers): the page and the client's built modules are served by the test, the API
 * calls go to the real server.
 */
test.describe('the TypeScript client in a browser', () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		[server] = await Promise.all([startTempServer({ demo: false, signedIn: false }), buildTsClient()]);
	});
	test.afterAll(async () => {
		await server?.stop();
	});

	test('log() queues in the page; pagehide sends what is queued and finishes the job', async ({ page }) => {
		await page.route(`${server.url}/__client/**`, (route) =>
			route.fulfill({
				path: path.join(TS_CLIENT, 'dist', new URL(route.request().url()).pathname.replace('/__client/', '')),
				contentType: 'text/javascript'
			})
		);
		await page.route(`${server.url}/__training`, (route) =>
			route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>training</title><p>training</p>' })
		);
		await page.goto(`${server.url}/__training`);
		const { id, badValue, step } = await page.evaluate(async (token) => {
			const { init } = await import(`${location.origin}/__client/index.js`);
			// A long batch interval: the values are still queued when the page goes away.
			const run = await init({ url: location.origin, token, name: 'in a browser', batchMs: 600_000 });
			for (let step = 1; step <= 200; step++) run.log({ 'train/loss': 1 / step, 'train/accuracy': step / 200 });
			let badValue = '';
			try {
				run.log({ 'train/accuracy': 93 });
			} catch (error) {
				badValue = (error as Error).message;
			}
			return { id: run.id as string, badValue, step: run.step as number };
		}, TEST_TOKEN);
		expect(badValue).toBe('"train/accuracy" at step 201: 93 is not a fraction from 0 to 1 (0.93, not 93)');
		expect(step).toBe(200);
		const job = async () => {
			const response = await fetch(`${server.url}/api/training/jobs/${id}`, { headers: authorization() });
			return ((await response.json()) as { job: { status: string; currentStep: number } }).job;
		};
		expect((await job()).currentStep).toBe(0);

		await page.goto('about:blank');
		await expect.poll(job, { timeout: 15_000 }).toMatchObject({ status: 'completed', currentStep: 200 });
	});
});
