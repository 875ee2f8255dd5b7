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
});
