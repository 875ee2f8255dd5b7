import { expect, test, type Page } from '@playwright/test';
import { authorization } from '../support/server';
import { startTempServer, SERVER_START_TIMEOUT, type TempServer } from './servers';

// The compare page, on a demo server of its own (a completed, a failed and a queued job)
// with a fast simulator.
test.describe.serial('compare runs', () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		server = await startTempServer({ demo: true, env: { VAPOR_SIM_STEP_MS: '25' } });
	});
	test.afterAll(async () => {
		await server?.stop();
	});

	async function createJob(name: string, fields: Record<string, unknown> = {}) {
		const response = await fetch(`${server.url}/api/training/jobs`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...authorization() },
			body: JSON.stringify({ name, baseModel: 'resnet-18', dataset: 'cifar-10', epochs: 1, ...fields })
		});
		return ((await response.json()) as { job: { id: string; name: string } }).job;
	}

	const checkbox = (page: Page, name: string) => page.getByRole('checkbox', { name: `Select ${name}` });
	const compareButton = (page: Page) => page.getByRole('button', { name: /^Compare \(\d+\)$/ });
	const tableRows = (page: Page) => page.locator('[data-testid="compare-data"] tbody tr');

	test('select jobs on the list, open the comparison, switch x to time', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await expect(compareButton(page)).toHaveText('Compare (0)');
		await expect(compareButton(page)).toBeDisabled();
		await checkbox(page, 'ResNet-18 on CIFAR-10 (demo)').check();
		await expect(compareButton(page)).toHaveText('Compare (1)');
		await expect(compareButton(page)).toBeDisabled();
		await checkbox(page, 'DistilBERT on SST-2, lr too high (demo)').check();
		await expect(compareButton(page)).toBeEnabled();
		await compareButton(page).click();

		await expect(page).toHaveURL(/\/training\/compare\?ids=[0-9a-f-]{36},[0-9a-f-]{36}$/);
		await expect(page.getByRole('heading', { level: 1, name: 'Compare runs' })).toBeVisible();
		const legend = page.getByRole('list', { name: 'Runs' });
		await expect(legend.getByRole('link')).toHaveText([
			'ResNet-18 on CIFAR-10 (demo)',
			'DistilBERT on SST-2, lr too high (demo)'
		]);
		// Each legend entry carries its run's colour.
		const swatches = await legend
			.locator('.swatch')
			.evaluateAll((nodes) => nodes.map((node) => getComputedStyle(node).backgroundColor));
		expect(new Set(swatches).size).toBe(2);
		await expect(tableRows(page)).toHaveCount(2);
		// Points drawn, and the last step: the completed demo run's 500 steps.
		await expect(tableRows(page).first().locator('td').nth(0)).toHaveText(/^[1-9]\d*$/);
		await expect(tableRows(page).first().locator('td').nth(1)).toHaveText('500');

		const chart = page.locator('.compare-chart');
		await expect(chart).toHaveAttribute('data-x', 'step');
		const stepTicks = await chart.locator('.tick-label').allTextContents();
		await page.getByRole('radio', { name: 'Time' }).check();
		await expect(chart).toHaveAttribute('data-x', 'time');
		await expect(page).toHaveURL(/&x=time$/);
		const timeTicks = await chart.locator('.tick-label').allTextContents();
		expect(timeTicks).not.toEqual(stepTicks);
		expect(timeTicks.some((label) => /^\d+m( \d+s)?$|^\d+h \d+m$/.test(label))).toBe(true);

		// The address is the selection: a reload shows the same runs, still by time.
		await page.reload();
		await expect(page.getByRole('radio', { name: 'Time' })).toBeChecked();
		await expect(legend.getByRole('link')).toHaveCount(2);
	});

	test('smoothing and log scale on the comparison', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await checkbox(page, 'ResNet-18 on CIFAR-10 (demo)').check();
		await checkbox(page, 'DistilBERT on SST-2, lr too high (demo)').check();
		await compareButton(page).click();
		await expect(tableRows(page)).toHaveCount(2);
		const smoothed = () => page.locator('[data-testid="compare-data"] td[data-smoothed]').allTextContents();
		const slider = page.getByRole('slider', { name: 'Smoothing' });
		await slider.fill('0.3');
		const low = await smoothed();
		await slider.fill('0.95');
		await expect.poll(smoothed).not.toEqual(low);
		await slider.fill('0');
		await expect.poll(smoothed).toEqual(['off', 'off']);

		const chart = page.locator('.compare-chart');
		await page.getByRole('checkbox', { name: 'Log scale' }).check();
		await expect(chart).toHaveAttribute('data-scale', 'log');
		// The diverged run reaches thousands: the log axis spans decades up to there.
		const ticks = await chart.locator('.tick-label').allTextContents();
		expect(ticks).toEqual(expect.arrayContaining(['0.1', '1', '10', '100']));
	});

	test('refuses an eleventh job with a hint', async ({ page }) => {
		for (let n = 1; n <= 9; n++) await createJob(`Extra ${n}`);
		await page.goto(`${server.url}/training/jobs`);
		const boxes = page.getByRole('checkbox', { name: /^Select / });
		await expect(boxes).toHaveCount(12);
		for (let n = 0; n < 10; n++) await boxes.nth(n).check();
		await expect(compareButton(page)).toHaveText('Compare (10)');
		await boxes.nth(10).click();
		await expect(boxes.nth(10)).not.toBeChecked();
		await expect(page.getByRole('status')).toHaveText('You can compare up to 10 runs. Untick one to add another.');
		await expect(compareButton(page)).toHaveText('Compare (10)');
		// Unticking one makes room again.
		await boxes.nth(0).uncheck();
		await boxes.nth(10).check();
		await expect(compareButton(page)).toHaveText('Compare (10)');
		await expect(page.getByRole('status')).not.toContainText('up to 10');
	});

	test('bad and unknown ids in the address get a clear message, not an error page', async ({ page }) => {
		const jobs = (await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json()) as {
			jobs: { id: string; name: string }[];
		};
		const known = jobs.jobs.find((job) => job.name === 'ResNet-18 on CIFAR-10 (demo)')!;
		const unknown = '00000000-0000-4000-8000-000000000000';
		const response = await page.goto(`${server.url}/training/compare?ids=not-an-id,${unknown},${known.id}`);
		expect(response?.status()).toBe(200);
		const alert = page.getByRole('alert');
		await expect(alert).toContainText('This is not a job id: not-an-id');
		await expect(alert).toContainText(`No job has this id: ${unknown}`);
		await expect(page.getByRole('list', { name: 'Runs' }).getByRole('link')).toHaveText([
			'ResNet-18 on CIFAR-10 (demo)'
		]);

		await page.goto(`${server.url}/training/compare?ids=nothing`);
		await expect(page.getByRole('heading', { name: 'Nothing to compare' })).toBeVisible();
		await expect(page.getByRole('alert')).toContainText('This is not a job id: nothing');
	});

	test('a running job in the comparison grows live', async ({ page }) => {
		const job = await createJob('Live in compare', { epochs: 3 });
		const jobs = (await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json()) as {
			jobs: { id: string; name: string }[];
		};
		const done = jobs.jobs.find((j) => j.name === 'ResNet-18 on CIFAR-10 (demo)')!;
		await page.goto(`${server.url}/training/compare?ids=${done.id},${job.id}`);
		const liveRow = page.locator(`[data-testid="compare-data"] tr[data-job-id="${job.id}"]`);
		await expect(liveRow.locator('td').nth(0)).toHaveText('0');
		await fetch(`${server.url}/api/training/jobs/${job.id}/start`, { method: 'POST', headers: authorization() });
		await expect(liveRow.locator('td').nth(0)).toHaveText(/^[1-9]\d*$/);
		await expect(page.locator(`.legend li:has-text("Live in compare") [data-status="completed"]`)).toBeVisible({
			timeout: 20_000
		});
		await expect(liveRow.locator('td').nth(1)).toHaveText('300');
	});
});
