import { expect, test, type Page } from '@playwright/test';
import { startTempServer, SERVER_START_TIMEOUT, type TempServer } from './servers';
import { authorization } from '../support/server';

// A fast simulator: a 1-epoch job (100 steps) runs in about 3 s.
const STEP_MS = '30';

test.describe.serial('the live monitor', () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		server = await startTempServer({ demo: false, env: { VAPOR_SIM_STEP_MS: STEP_MS } });
	});
	test.afterAll(async () => {
		await server?.stop();
	});

	async function createJob(fields: Record<string, unknown>) {
		const response = await fetch(`${server.url}/api/training/jobs`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...authorization() },
			body: JSON.stringify({ baseModel: 'resnet-18', dataset: 'cifar-10', ...fields })
		});
		return ((await response.json()) as { job: { id: string; name: string } }).job;
	}

	/** The steps the page holds, from the monitor's own list (exposed for tests via the chart's points count). */
	const pointsLabel = (page: Page) => page.getByText(/points · drawn with every spike kept/);

	test('start a job and watch it train to completion', async ({ page }) => {
		const job = await createJob({ name: 'Watch me train', epochs: 1 });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.getByText('Waiting for training data…')).toBeVisible();
		await expect(page.locator('[data-status="queued"]')).toBeVisible();

		await page.getByRole('button', { name: 'Start' }).click();
		await expect(page.locator('[data-status="running"]')).toBeVisible();
		await expect(pointsLabel(page)).toHaveText(/^[1-9]\d* points/);
		const early = Number((await pointsLabel(page).textContent())!.split(' ')[0]);
		await expect(page.locator('[data-status="completed"]')).toBeVisible({ timeout: 15_000 });
		await expect(pointsLabel(page)).toHaveText(/^100 points/);
		expect(early).toBeLessThan(100);
		await expect(page.getByTestId('stat-percent')).toHaveText('100.0%');
		await expect(page.getByTestId('stat-step')).toContainText('100');
		await expect(page.getByTestId('stat-eta')).toHaveText('Complete');
		await expect(page.getByText('Training completed')).toBeVisible();
		await expect(page.getByRole('img', { name: /Loss curve: 100 points/ })).toBeVisible();
		await expect(page.getByRole('button', { name: 'Run again' })).toBeEnabled();

		// Reloading a finished job shows the whole curve and no toast again: its stream
		// answers 204 (nothing after step 100), so no status event can raise one.
		const stream = page.waitForResponse((response) => response.url().includes(`/jobs/${job.id}/stream`));
		await page.reload();
		await expect(pointsLabel(page)).toHaveText(/^100 points/);
		expect((await stream).status()).toBe(204);
		await expect(page.getByText('Training completed')).toHaveCount(0);
	});

	test('stop a running job', async ({ page }) => {
		const job = await createJob({ name: 'Stop me', epochs: 50 });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await page.getByRole('button', { name: 'Start' }).click();
		await expect(page.locator('[data-status="running"]')).toBeVisible();
		await page.getByRole('button', { name: 'Stop' }).click();
		await expect(page.locator('[data-status="stopped"]')).toBeVisible();
		await expect(page.getByText('Training stopped')).toBeVisible();
		await expect(page.getByTestId('stat-eta')).toHaveText('Stopped');
	});

	test('a diverging learning rate fails with the reason', async ({ page }) => {
		const job = await createJob({ name: 'Too hot', epochs: 3, learningRate: 0.9 });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await page.getByRole('button', { name: 'Start' }).click();
		await expect(page.locator('[data-status="failed"]')).toBeVisible({ timeout: 15_000 });
		await expect(page.getByText('Training failed')).toBeVisible();
		await expect(
			page.getByText(/Loss diverged \(NaN\) at step \d+: learning rate 0.9 is too high/).first()
		).toBeVisible();
	});

	test('reload mid-run keeps the whole curve with no step twice', async ({ page }) => {
		const job = await createJob({ name: 'Reload me', epochs: 2 });
		await fetch(`${server.url}/api/training/jobs/${job.id}/start`, { method: 'POST', headers: authorization() });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(pointsLabel(page)).toHaveText(/^[1-9]\d* points/);
		await page.reload();
		await expect(page.locator('[data-status="completed"]')).toBeVisible({ timeout: 20_000 });
		// Exactly one point per step: the label counts the points the page holds.
		await expect(pointsLabel(page)).toHaveText(/^200 points/);
	});

	test('the page recovers by itself when the server restarts mid-run', async ({ page }) => {
		test.setTimeout(SERVER_START_TIMEOUT + 30_000);
		const job = await createJob({ name: 'Survive a restart', epochs: 4 });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await page.getByRole('button', { name: 'Start' }).click();
		await expect(pointsLabel(page)).toHaveText(/^[1-9]\d* points/);
		await server.restart();
		await expect(page.locator('[data-status="completed"]')).toBeVisible({ timeout: 30_000 });
		await expect(pointsLabel(page)).toHaveText(/^400 points/);
		await expect(page.getByText('Reconnecting…')).toHaveCount(0);
	});

	test('the jobs list updates badges and progress without a reload', async ({ page }) => {
		const job = await createJob({ name: 'Listed live', epochs: 1 });
		// The feed answers once this page is subscribed to live events: start the job after that.
		const feed = page.waitForResponse((response) => response.url().endsWith('/api/training/stream'));
		let feedsOpened = 0;
		page.on('request', (request) => {
			if (request.url().endsWith('/api/training/stream')) feedsOpened++;
		});
		await page.goto(`${server.url}/training/jobs`);
		const row = page.locator(`tr[data-job-id="${job.id}"]`);
		await expect(row.locator('[data-status="queued"]')).toBeVisible();
		expect((await feed).status()).toBe(200);
		await fetch(`${server.url}/api/training/jobs/${job.id}/start`, { method: 'POST', headers: authorization() });
		await expect(row.locator('[data-status="running"], [data-status="completed"]')).toBeVisible();
		await expect(row.locator('[data-status="completed"]')).toBeVisible({ timeout: 15_000 });
		await expect(row).toContainText('100%');
		// The rows follow the layout's feed (which also raises the toasts): one connection per tab.
		expect(feedsOpened).toBe(1);
	});

	test('a browser EventSource gets every step once, then stops on the 204 of its reconnect', async ({ page }) => {
		const job = await createJob({ name: 'Raw EventSource', epochs: 2 });
		await page.goto(`${server.url}/healthz`);
		const started = fetch(`${server.url}/api/training/jobs/${job.id}/start`, {
			method: 'POST',
			headers: authorization()
		});
		const steps = await page.evaluate(
			(id) =>
				new Promise<number[]>((resolve) => {
					const seen: number[] = [];
					const source = new EventSource(`/api/training/jobs/${id}/stream`);
					source.addEventListener('metrics', (event) => {
						for (const point of JSON.parse(event.data)) seen.push(point.step);
					});
					// The server ends the stream after the terminal status; the browser
					// reconnects with Last-Event-ID, gets 204 and gives up: readyState CLOSED.
					source.onerror = () => {
						if (source.readyState === EventSource.CLOSED) resolve(seen);
					};
				}),
			job.id
		);
		await started;
		expect(steps).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
	});
});
