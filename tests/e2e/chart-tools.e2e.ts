import fs from 'node:fs';
import { authorization } from '../support/server';
import { expect, test, type Page } from '@playwright/test';
import { startTempServer, SERVER_START_TIMEOUT, type TempServer } from './servers';

// Smoothing, log scale and the downloads on the monitor, on a server of its own with a fast
// simulator: a 2-epoch job (200 steps) trains in a few seconds.
test.describe.serial('monitor chart tools', () => {
	let server: TempServer;
	let job: { id: string; name: string };

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT + 30_000);
		server = await startTempServer({ demo: false, env: { VAPOR_SIM_STEP_MS: '20' } });
		const created = await fetch(`${server.url}/api/training/jobs`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...authorization() },
			body: JSON.stringify({
				name: 'Chart tools / run #1',
				baseModel: 'resnet-18',
				dataset: 'cifar-10',
				epochs: 2,
				batchSize: 8
			})
		});
		job = ((await created.json()) as { job: typeof job }).job;
		await fetch(`${server.url}/api/training/jobs/${job.id}/start`, { method: 'POST', headers: authorization() });
		for (let i = 0; i < 200; i++) {
			const current = (
				(await (await fetch(`${server.url}/api/training/jobs/${job.id}`, { headers: authorization() })).json()) as {
					job: { status: string };
				}
			).job;
			if (current.status === 'completed') break;
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	});
	test.afterAll(async () => {
		await server?.stop();
	});

	/** The smoothed column of the screen-reader table under the chart. */
	const smoothedValues = (page: Page) => page.locator('[data-testid="loss-data"] td[data-smoothed]').allTextContents();
	const rawValues = (page: Page) =>
		page.locator('[data-testid="loss-data"] tbody tr td:nth-child(2)').allTextContents();

	test('the smoothing slider changes the drawn curve and survives a reload', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.locator('[data-status="completed"]')).toBeVisible();
		const slider = page.getByRole('slider', { name: 'Smoothing' });
		await expect(slider).toHaveValue('0.6');
		await expect(page.locator('[data-testid="loss-data"] caption')).toContainText('of 200 drawn points');
		const at06 = await smoothedValues(page);
		const raw = await rawValues(page);
		expect(at06.length).toBeGreaterThan(10);
		// The first point is itself; later ones are averages, not the raw values.
		expect(at06[0]).toBe(raw[0]);
		expect(at06.slice(1)).not.toEqual(raw.slice(1));

		await slider.fill('0.95');
		await expect(page.locator('.loss-chart')).toHaveAttribute('data-smoothing', '0.95');
		const at095 = await smoothedValues(page);
		expect(at095).not.toEqual(at06);
		expect(at095[0]).toBe(raw[0]);

		// 0 turns smoothing off: no smoothed column, just the raw curve.
		await slider.fill('0');
		await expect(page.getByText('off', { exact: true })).toBeVisible();
		await expect(page.locator('[data-testid="loss-data"] td[data-smoothed]')).toHaveCount(0);

		await slider.fill('0.9');
		await slider.dispatchEvent('change');
		await page.reload();
		await expect(page.getByRole('slider', { name: 'Smoothing' })).toHaveValue('0.9');
		await expect(page.locator('.loss-chart')).toHaveAttribute('data-smoothing', '0.9');
	});

	test('the log scale switch puts the loss on decades', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		const chart = page.locator('.loss-chart');
		await expect(chart).toHaveAttribute('data-scale', 'linear');
		const linearTicks = await chart.locator('.tick-label').allTextContents();
		await page.getByRole('checkbox', { name: 'Log scale' }).check();
		await expect(chart).toHaveAttribute('data-scale', 'log');
		await expect(page.getByRole('img', { name: /log scale/ })).toBeVisible();
		const logTicks = await chart.locator('.tick-label').allTextContents();
		expect(logTicks).not.toEqual(linearTicks);
		expect(logTicks).toContain('1'); // a decade line: losses run from about 2.4 down to 0.1
		await page.reload();
		await expect(page.getByRole('checkbox', { name: 'Log scale' })).toBeChecked();
		await page.getByRole('checkbox', { name: 'Log scale' }).uncheck();
		await expect(chart).toHaveAttribute('data-scale', 'linear');
	});

	test('CSV, JSON and PNG downloads', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.locator('[data-status="completed"]')).toBeVisible();

		const csvDownload = page.waitForEvent('download');
		await page.getByRole('link', { name: 'Download metrics as CSV' }).click();
		const csv = await csvDownload;
		expect(csv.suggestedFilename()).toBe('Chart-tools-run-1-metrics.csv');
		const csvText = fs.readFileSync((await csv.path())!, 'utf8');
		const lines = csvText.trimEnd().split('\n');
		// Long form: a line per value. The simulator writes seven keys every step, val/* every 100th.
		expect(lines[0]).toBe('key,step,epoch,value,recorded_at');
		const lossSteps = lines
			.slice(1)
			.filter((line) => line.startsWith('train/loss,'))
			.map((line) => Number(line.split(',')[1]));
		expect(lossSteps).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
		expect(lines.filter((line) => line.startsWith('val/loss,')).map((line) => line.split(',')[1])).toEqual([
			'100',
			'200'
		]);

		const jsonDownload = page.waitForEvent('download');
		await page.getByRole('link', { name: 'Download metrics as JSON' }).click();
		const json = await jsonDownload;
		expect(json.suggestedFilename()).toBe('Chart-tools-run-1-metrics.json');
		const document = JSON.parse(fs.readFileSync((await json.path())!, 'utf8'));
		expect(document.metrics['train/loss']).toHaveLength(200);
		expect(document.metrics['val/loss']).toHaveLength(2);

		const pngDownload = page.waitForEvent('download');
		await page.getByRole('button', { name: 'Download chart as PNG' }).click();
		const png = await pngDownload;
		expect(png.suggestedFilename()).toBe('Chart-tools-run-1-loss.png');
		const bytes = fs.readFileSync((await png.path())!);
		expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
		// IHDR: twice the on-screen size, so wider than the chart card.
		expect(bytes.readUInt32BE(16)).toBeGreaterThan(1000);
		expect(bytes.length).toBeGreaterThan(10_000);
	});
});
