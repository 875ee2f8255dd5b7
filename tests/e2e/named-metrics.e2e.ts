import { expect, test } from '@playwright/test';
import { startTempServer, SERVER_START_TIMEOUT, type TempServer } from './servers';
import { authorization } from '../support/server';
import { formatLoss } from '../../src/lib/format';

// A 1-epoch simulated job (100 steps, 7 to 9 keys each) runs in about 3 s.
const STEP_MS = '30';

interface KeySummary {
	key: string;
	count: number;
	lastStep: number;
	lastValue: number | null;
}

/** Today's pages on jobs that log many metrics: everything headline follows the primary metric. */
test.describe.serial("today's pages on multi-metric jobs", () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		server = await startTempServer({ demo: false, env: { VAPOR_SIM_STEP_MS: STEP_MS } });
	});
	test.afterAll(async () => {
		await server?.stop();
	});

	async function post(path: string, body?: unknown) {
		const response = await fetch(`${server.url}${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...authorization() },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		expect(response.status, await response.clone().text()).toBeLessThan(300);
		return response.json();
	}
	const keysOf = async (id: string) =>
		(
			(await (
				await fetch(`${server.url}/api/training/jobs/${id}/metrics/keys`, { headers: authorization() })
			).json()) as { keys: KeySummary[] }
		).keys;

	test('a simulated run of nine metrics: monitor, stats, progress, toast, list and compare follow train/loss', async ({
		page
	}) => {
		// Four pages and a whole run on a machine shared with other builds.
		test.setTimeout(90_000);
		const { job } = await post('/api/training/jobs', {
			name: 'Nine metrics',
			baseModel: 'resnet-18',
			dataset: 'cifar-10',
			epochs: 1
		});
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await page.getByRole('button', { name: 'Start' }).click();
		await expect(page.locator('[data-status="completed"]')).toBeVisible({ timeout: 20_000 });
		await expect(page.getByText('Training completed')).toBeVisible();
		// The headline chart holds one point per step of the primary metric.
		await expect(page.getByText(/^100 points · drawn with every spike kept/)).toBeVisible();
		await expect(page.getByTestId('stat-percent')).toHaveText('100.0%');
		await expect(page.getByTestId('stat-step')).toContainText('100');

		const keys = await keysOf(job.id);
		expect(keys.map((k) => k.key).sort()).toEqual(
			[
				'grad_norm',
				'lr',
				'system/gpu.0.memory_gb',
				'system/gpu.0.util',
				'throughput/samples_per_s',
				'train/accuracy',
				'train/loss',
				'val/accuracy',
				'val/loss'
			].sort()
		);
		const trainLoss = keys.find((k) => k.key === 'train/loss')!;
		expect(trainLoss).toMatchObject({ count: 100, lastStep: 100 });

		// The list's latest loss is train/loss's last value.
		await page.goto(`${server.url}/training/jobs`);
		const row = page.locator(`tr[data-job-id="${job.id}"]`);
		await expect(row).toContainText('100%');
		await expect(row).toContainText(formatLoss(trainLoss.lastValue));

		// Compare draws its loss curve.
		await page.goto(`${server.url}/training/compare?ids=${job.id}`);
		await expect(page.locator(`[data-testid="compare-data"] tr[data-job-id="${job.id}"]`)).toContainText(
			formatLoss(trainLoss.lastValue)
		);
	});

	test('an external run that logs rows of many keys, val/* every 100 steps, shows train/loss live', async ({
		page
	}) => {
		test.setTimeout(60_000);
		const { job } = await post('/api/training/jobs', {
			name: 'My script',
			source: 'external',
			stepsPerEpoch: 100,
			epochs: 3,
			primaryMetric: 'train/loss'
		});
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		const rows = (from: number, to: number) =>
			Array.from({ length: to - from + 1 }, (_, i) => {
				const step = from + i;
				return {
					step,
					metrics: {
						'train/loss': 2 / Math.sqrt(step),
						'train/accuracy': 1 - 1 / Math.sqrt(step),
						lr: 1e-3,
						...(step % 100 === 0 ? { 'val/loss': 2.2 / Math.sqrt(step) } : {})
					}
				};
			});
		await post(`/api/training/jobs/${job.id}/metrics`, rows(1, 150));
		await expect(page.locator('[data-status="running"]')).toBeVisible();
		await expect(page.getByText(/^150 points/)).toBeVisible();
		await post(`/api/training/jobs/${job.id}/metrics`, rows(151, 300));
		await expect(page.getByText(/^300 points/)).toBeVisible();
		await expect(page.getByTestId('stat-step')).toContainText('300');
		await expect(page.getByTestId('stat-percent')).toHaveText('100.0%');
		await post(`/api/training/jobs/${job.id}/finish`, { status: 'completed' });
		await expect(page.getByText('Training completed')).toBeVisible();
	});

	test('a job made without a primary metric headlines train/loss once its script logs that, on the open page', async ({
		page
	}) => {
		test.setTimeout(60_000);
		const { job } = await post('/api/training/jobs', { name: 'No primary', source: 'external', stepsPerEpoch: 100 });
		expect(job.primaryMetric).toBe('loss');
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.locator('[data-status="queued"]')).toBeVisible();
		const rows = Array.from({ length: 120 }, (_, i) => ({
			step: i + 1,
			metrics: { 'train/loss': 2 / Math.sqrt(i + 1), 'train/accuracy': 0.5, lr: 1e-3 }
		}));
		await post(`/api/training/jobs/${job.id}/metrics`, rows);
		// The page reloads the headline for the key the values chose: its chart, axis and stats.
		await expect(page.getByText(/^120 points/)).toBeVisible();
		await expect(page.locator('.loss-chart .axis-title', { hasText: 'train/loss' })).toBeVisible();
		await expect(page.getByTestId('stat-loss')).toHaveText(formatLoss(2 / Math.sqrt(120)));
		await expect(page.getByTestId('stat-accuracy')).toHaveText('50.0%');
		// And it stays live on the new key.
		await post(`/api/training/jobs/${job.id}/metrics`, [{ step: 121, metrics: { 'train/loss': 0.1 } }]);
		await expect(page.getByTestId('stat-loss')).toHaveText(formatLoss(0.1));
	});

	/** Rows of an external run: train/loss and its companion every step, val/* every 50, system/* too. */
	const manyKeys = (from: number, to: number, extra: Record<string, number> = {}) =>
		Array.from({ length: to - from + 1 }, (_, i) => {
			const step = from + i;
			return {
				step,
				metrics: {
					'train/loss': 2 / Math.sqrt(step),
					'train/accuracy': 1 - 1 / Math.sqrt(step),
					lr: 1e-3 * Math.min(1, step / 50),
					'system/gpu.0.util': 90 + (step % 7),
					...(step % 50 === 0 ? { 'val/loss': 2.2 / Math.sqrt(step) } : {}),
					...extra
				}
			};
		});

	test('a panel per key in sections, a filter, a key arriving mid-run, zoom in and out while live, tooltips', async ({
		page
	}) => {
		test.setTimeout(90_000);
		const { job } = await post('/api/training/jobs', {
			name: 'Panels',
			baseModel: 'bert-base',
			dataset: 'imdb',
			source: 'external',
			stepsPerEpoch: 100,
			epochs: 3,
			primaryMetric: 'train/loss'
		});
		await post(`/api/training/jobs/${job.id}/metrics`, manyKeys(1, 120));
		const streams: string[] = [];
		page.on('request', (request) => {
			if (request.url().includes(`/jobs/${job.id}/stream`)) streams.push(request.url());
		});
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		const panel = (key: string) => page.locator(`article[data-key="${key}"]`);
		const section = (name: string) => page.getByRole('button', { name: new RegExp(`^${name} \\d+$`) });

		// Every key but the headline's has a panel, in sections by group.
		await expect(section('Other')).toHaveAttribute('aria-expanded', 'true');
		await expect(section('system')).toBeVisible();
		await expect(section('val')).toBeVisible();
		await expect(page.locator('article[data-key]')).toHaveCount(3);
		await expect(panel('train/loss')).toHaveCount(0);
		await expect(panel('lr').getByRole('img', { name: /^lr: 120 values, latest 0\.001 at step 120/ })).toBeVisible();

		// The filter narrows by name: "val/" leaves the val section.
		const filter = page.getByRole('searchbox', { name: 'Filter metrics' });
		await filter.fill('val/');
		await expect(page.locator('article[data-key]')).toHaveCount(1);
		await expect(panel('val/loss')).toBeVisible();
		await expect(section('system')).toHaveCount(0);
		await filter.fill('');

		// A folded section stays folded after a reload (remembered in this browser).
		await section('system').click();
		await expect(panel('system/gpu.0.util')).toHaveCount(0);
		await page.reload();
		await expect(section('system')).toHaveAttribute('aria-expanded', 'false');
		await expect(panel('lr')).toBeVisible();
		await section('system').click();
		await expect(panel('system/gpu.0.util')).toBeVisible();

		// A key that arrives mid-run becomes a panel live, through the one stream.
		await post(`/api/training/jobs/${job.id}/metrics`, manyKeys(121, 160, { grad_norm: 1.5 }));
		await expect(panel('grad_norm').getByRole('img', { name: /^grad_norm: 40 values/ })).toBeVisible();
		await expect(page.getByText(/^160 points/)).toBeVisible();
		expect(new Set(streams.map((url) => new URL(url).pathname)).size).toBe(1);
		expect(streams.every((url) => url.includes('v=2'))).toBe(true);

		// A tooltip on a panel names the key as its legend does.
		const lrSurface = panel('lr').getByRole('application');
		await lrSurface.scrollIntoViewIfNeeded();
		const box = (await lrSurface.boundingBox())!;
		await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
		await expect(panel('lr').getByRole('tooltip')).toContainText(/Step \d+/);
		await expect(panel('lr').getByRole('tooltip')).toContainText('lr');

		// Zoom the headline to the end of the run: it re-reads the range, then follows live points.
		const headline = page.locator('.loss-chart');
		const surface = headline.getByRole('application');
		await surface.scrollIntoViewIfNeeded();
		const area = (await surface.boundingBox())!;
		const range = page.waitForResponse((r) => r.url().includes('/metrics/range?key=train%2Floss'));
		await page.mouse.move(area.x + area.width * 0.2, area.y + 50);
		await page.mouse.down();
		await page.mouse.move(area.x + area.width - 1, area.y + 60, { steps: 6 });
		await page.mouse.up();
		expect((await range).status()).toBe(200);
		await expect(headline).toHaveAttribute('data-zoomed', /^\d+-\d+$/);
		const zoomedTo = (await headline.getAttribute('data-zoomed'))!.split('-').map(Number);
		expect(zoomedTo[0]).toBeGreaterThan(40);
		await expect(page.getByRole('button', { name: 'Reset zoom' })).toBeVisible();
		const lastDrawnStep = page.locator('[data-testid="loss-data"] tbody tr:last-child td:first-child');
		await expect(lastDrawnStep).toHaveText('160');
		await post(`/api/training/jobs/${job.id}/metrics`, manyKeys(161, 190, { grad_norm: 1.2 }));
		await expect(lastDrawnStep).toHaveText('190');
		await expect(page.locator('[data-testid="loss-data"] tbody tr:first-child td:first-child')).not.toHaveText('1');

		// Back out: double-click; then zoom and reset by keyboard.
		await surface.dblclick();
		await expect(headline).not.toHaveAttribute('data-zoomed');
		await expect(page.locator('[data-testid="loss-data"] tbody tr:first-child td:first-child')).toHaveText('1');
		await surface.focus();
		await page.keyboard.press('+');
		await expect(headline).toHaveAttribute('data-zoomed', /^\d+-\d+$/);
		await page.keyboard.press('Escape');
		await expect(headline).not.toHaveAttribute('data-zoomed');

		// A range read that fails says so under the headline (and the view stays zoomed on what the page has).
		await page.route('**/metrics/range?key=train%2Floss*', (route) =>
			route.fulfill({
				status: 503,
				contentType: 'application/json',
				body: JSON.stringify({ error: 'The database did not answer in time.' })
			})
		);
		await page.keyboard.press('+');
		await expect(headline).toHaveAttribute('data-zoomed', /^\d+-\d+$/);
		const zoomError = page.getByRole('status').filter({ hasText: 'Could not read this range at full resolution' });
		await expect(zoomError).toContainText('The database did not answer in time.');
		await page.unroute('**/metrics/range?key=train%2Floss*');
		await page.keyboard.press('Escape');
		await expect(zoomError).toHaveCount(0);

		// A panel zooms the same way, re-reading its own key.
		const lrRange = page.waitForResponse((r) => r.url().includes('/metrics/range?key=lr'));
		await lrSurface.focus();
		await page.keyboard.press('+');
		expect((await lrRange).status()).toBe(200);
		await expect(panel('lr').locator('.chart-frame')).toHaveAttribute('data-zoomed', /^\d+-\d+$/);
		await panel('lr').getByRole('button', { name: 'Reset zoom' }).click();
		await expect(panel('lr').locator('.chart-frame')).not.toHaveAttribute('data-zoomed');
	});

	test('compare by a key with an outlier run: the range follows the others, marks the outlier, and can include it', async ({
		page
	}) => {
		test.setTimeout(60_000);
		const ids: string[] = [];
		for (const [name, scale] of [
			['Steady A', 1],
			['Steady B', 1.1],
			['Diverged C', 1000]
		] as const) {
			const { job } = await post('/api/training/jobs', {
				name,
				baseModel: 'bert-base',
				dataset: 'imdb',
				source: 'external',
				stepsPerEpoch: 100,
				epochs: 2,
				primaryMetric: 'train/loss'
			});
			const rows = manyKeys(1, 200).map((row) => ({
				...row,
				metrics: { ...row.metrics, ...(row.step % 50 === 0 ? { 'val/loss': (2.2 * scale) / Math.sqrt(row.step) } : {}) }
			}));
			await post(`/api/training/jobs/${job.id}/metrics`, rows);
			await post(`/api/training/jobs/${job.id}/finish`, { status: 'completed' });
			ids.push(job.id);
		}
		await page.goto(`${server.url}/training/compare?ids=${ids.join(',')}`);
		const select = page.getByRole('combobox', { name: 'Metric' });
		await expect(select).toBeEnabled();
		await expect(select.locator('optgroup[label="In every run"] option').first()).toHaveText('train/loss');
		await select.selectOption('val/loss');
		await expect(page).toHaveURL(/metric=val\/loss/);
		const chart = page.locator('.compare-chart');
		await expect(page.locator('[data-testid="compare-data"] tbody tr').first().locator('td').nth(0)).toHaveText('4');
		// The diverged run is left out of the range and marked where it leaves it.
		await expect(chart).toHaveAttribute('data-outliers', 'excluded');
		await expect(page.getByRole('note').filter({ hasText: 'marks where a curve leaves the range' })).toBeVisible();
		await expect.poll(async () => Number(await chart.getAttribute('data-marks'))).toBeGreaterThan(0);
		// The steady runs' val/loss ends near 0.2 and starts near 0.3: the top of the axis sits near them.
		await expect.poll(async () => Number(await chart.getAttribute('data-y-top'))).toBeLessThan(1);
		await page.getByRole('checkbox', { name: 'Include outliers' }).check();
		await expect(chart).toHaveAttribute('data-outliers', 'included');
		await expect(chart).toHaveAttribute('data-marks', '0');
		await expect
			.poll(async () => (await chart.locator('.tick-label').allTextContents()).join(' '))
			.toMatch(/\d+k|\d{3}/);

		// The tooltip names each run as the legend does.
		const surface = chart.getByRole('application');
		await surface.scrollIntoViewIfNeeded();
		const box = (await surface.boundingBox())!;
		await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
		const tooltip = chart.getByRole('tooltip');
		for (const name of ['Steady A', 'Steady B', 'Diverged C']) await expect(tooltip).toContainText(name);

		// A reload keeps the key; zoom by step re-reads each run's range.
		await page.reload();
		await expect(select).toHaveValue('val/loss');
		await expect(page.locator('[data-testid="compare-data"] tbody tr').first().locator('td').nth(0)).toHaveText('4');
		const ranges = page.waitForResponse((r) => r.url().includes('/metrics/range?key=val%2Floss'));
		await surface.focus();
		await page.keyboard.press('+');
		expect((await ranges).status()).toBe(200);
		await expect(chart).toHaveAttribute('data-zoomed', /^\d+-\d+$/);
	});

	test('compare by a key follows the runs on the tab’s one jobs feed, and a zoom that reaches the end follows too', async ({
		page
	}) => {
		test.setTimeout(60_000);
		const ids: string[] = [];
		for (const name of ['Live A', 'Live B']) {
			const { job } = await post('/api/training/jobs', {
				name,
				baseModel: 'bert-base',
				dataset: 'imdb',
				source: 'external',
				stepsPerEpoch: 100,
				epochs: 5,
				primaryMetric: 'train/loss'
			});
			await post(`/api/training/jobs/${job.id}/metrics`, manyKeys(1, 200));
			ids.push(job.id);
		}
		const streams: string[] = [];
		page.on('request', (request) => {
			if (request.url().includes('/stream')) streams.push(new URL(request.url()).pathname);
		});
		await page.goto(`${server.url}/training/compare?ids=${ids.join(',')}&metric=val/loss`);
		const lastStep = (name: string) =>
			page
				.locator('[data-testid="compare-data"] tbody tr', { has: page.getByRole('rowheader', { name, exact: true }) })
				.locator('td')
				.nth(1);
		await expect(lastStep('Live A')).toHaveText('200');

		// New values of the key arrive without a reload, over the tab's one feed: no stream per run.
		await post(`/api/training/jobs/${ids[0]}/metrics`, manyKeys(201, 300));
		await expect(lastStep('Live A')).toHaveText('300');
		await expect(lastStep('Live B')).toHaveText('200');
		expect(new Set(streams)).toEqual(new Set(['/api/training/stream']));

		// A zoom to the end re-reads the range, then keeps following the new values.
		const chart = page.locator('.compare-chart');
		const surface = chart.getByRole('application');
		await surface.scrollIntoViewIfNeeded();
		const box = (await surface.boundingBox())!;
		const range = page.waitForResponse((r) => r.url().includes('/metrics/range?key=val%2Floss'));
		await page.mouse.move(box.x + box.width * 0.5, box.y + 40);
		await page.mouse.down();
		await page.mouse.move(box.x + box.width - 1, box.y + 60, { steps: 6 });
		await page.mouse.up();
		expect((await range).status()).toBe(200);
		await expect(chart).toHaveAttribute('data-zoomed', /^\d+-300$/);
		await post(`/api/training/jobs/${ids[0]}/metrics`, manyKeys(301, 400));
		await expect(lastStep('Live A')).toHaveText('400');
		await expect(chart).toHaveAttribute('data-zoomed', /^\d+-400$/);
		// The zoomed view starts where it was dragged, not at the first value.
		await expect(page.locator('[data-testid="compare-data"] tbody tr').first().locator('td').nth(0)).not.toHaveText(
			'8'
		);
	});
});
