import { spawn } from 'node:child_process';
import os from 'node:os';
import { expect, test } from '@playwright/test';
import { frameworksPython } from '../support/python';
import { authorization, TEST_TOKEN } from '../support/server';
import { screenshotVariants } from './screens';
import { SERVER_START_TIMEOUT, startTempServer, type TempServer } from './servers';

// Screenshots for docs/screenshots/, drawn by `npm run screenshots` (npm test skips this
// file). A pristine demo server of their own, so that they show the same three demo jobs
// whichever specs ran before.
test.describe('screenshots', () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		server = await startTempServer({ demo: true, env: { VAPOR_SIM_STEP_MS: '60' } });
	});

	test.afterAll(async () => {
		await server?.stop();
	});

	test('jobs list', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await expect(page.locator('tbody tr')).toHaveCount(3);
		await screenshotVariants(page, 'jobs-list');
	});

	test('new-job form with validation errors', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs/new`);
		await page.getByLabel('Name').fill('');
		await page.getByLabel('Epochs').fill('0');
		await page.getByLabel('Learning rate').fill('fast');
		await page.getByLabel('Batch size').fill('5000');
		await page.getByRole('button', { name: 'Create job' }).click();
		await expect(page.locator('[aria-invalid="true"]')).toHaveCount(4);
		await screenshotVariants(page, 'new-job-errors');
	});

	test('completed demo job', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await page.getByRole('link', { name: 'ResNet-18 on CIFAR-10 (demo)' }).click();
		await expect(page.getByRole('heading', { level: 1, name: 'ResNet-18 on CIFAR-10 (demo)' })).toBeVisible();
		await expect(page.locator('[data-status="completed"]')).toBeVisible();
		await screenshotVariants(page, 'job-detail-completed');
	});

	test('failed demo job', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await page.getByRole('link', { name: /lr too high \(demo\)/ }).click();
		await expect(page.locator('[data-status="failed"]')).toBeVisible();
		await expect(page.getByText(/Loss diverged/)).toBeVisible();
		await screenshotVariants(page, 'job-detail-failed');
	});

	test('running job', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await page.getByRole('link', { name: 'GPT-2 small on WikiText-2 (demo)' }).click();
		await page.getByRole('button', { name: 'Start' }).click();
		await expect(page.getByText(/^1\d\d points/)).toBeVisible({ timeout: 20_000 });
		await page.getByRole('button', { name: 'Stop' }).hover();
		await screenshotVariants(page, 'job-detail-running');
	});

	test('compare runs', async ({ page }) => {
		// Two more runs with other learning rates, training while the page is open.
		for (const [name, learningRate] of [
			['ResNet-18, lr 1e-3', 1e-3],
			['ResNet-18, lr 3e-3', 3e-3]
		] as const) {
			const response = await fetch(`${server.url}/api/training/jobs`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...authorization() },
				body: JSON.stringify({
					name,
					baseModel: 'resnet-18',
					dataset: 'cifar-10',
					epochs: 4,
					learningRate,
					batchSize: 64
				})
			});
			const { job } = (await response.json()) as { job: { id: string } };
			await fetch(`${server.url}/api/training/jobs/${job.id}/start`, { method: 'POST', headers: authorization() });
		}
		await page.goto(`${server.url}/training/jobs`);
		for (const name of [
			'ResNet-18 on CIFAR-10 (demo)',
			'GPT-2 small on WikiText-2 (demo)',
			'ResNet-18, lr 1e-3',
			'ResNet-18, lr 3e-3'
		]) {
			await page.getByRole('checkbox', { name: `Select ${name}` }).check();
		}
		await page.getByRole('button', { name: 'Compare (4)' }).click();
		await expect(page.locator('[data-testid="compare-data"] tbody tr')).toHaveCount(4);
		// Let the two new runs draw a stretch of curve: a hundred steps each.
		for (const name of ['ResNet-18, lr 1e-3', 'ResNet-18, lr 3e-3']) {
			const row = page.locator('[data-testid="compare-data"] tbody tr', {
				has: page.getByRole('rowheader', { name, exact: true })
			});
			const lastStep = row.locator('td').nth(1);
			await expect
				.poll(async () => Number(await lastStep.textContent()), { timeout: 20_000 })
				.toBeGreaterThanOrEqual(100);
		}
		await screenshotVariants(page, 'compare');
	});

	test('a run of many metrics, a zoomed chart, runs compared by val/loss', async ({ page }) => {
		test.setTimeout(120_000);
		const post = async (path: string, body: unknown) => {
			const response = await fetch(`${server.url}${path}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...authorization() },
				body: JSON.stringify(body)
			});
			expect(response.status, await response.clone().text()).toBeLessThan(300);
			return response.json();
		};
		// Four runs of a script that logs 12 keys (val/* every 100 steps); the last one's
		// learning rate is too high and its val/loss climbs away from the others.
		const STEPS = 3_000;
		const runs = [
			{ name: 'llama-3-8b sft, lr 1e-4', lr: 1e-4, steps: 2_400, finish: false },
			{ name: 'llama-3-8b sft, lr 3e-4', lr: 3e-4, steps: STEPS, finish: true },
			{ name: 'llama-3-8b sft, lr 1e-3', lr: 1e-3, steps: STEPS, finish: true },
			{ name: 'llama-3-8b sft, lr 1e-2', lr: 1e-2, steps: STEPS, finish: true }
		];
		const ids: string[] = [];
		for (const [index, run] of runs.entries()) {
			const { job } = await post('/api/training/jobs', {
				name: run.name,
				baseModel: 'llama-3-8b',
				dataset: 'openwebtext',
				source: 'external',
				epochs: 3,
				stepsPerEpoch: STEPS / 3,
				learningRate: run.lr,
				primaryMetric: 'train/loss'
			});
			ids.push(job.id);
			// A deterministic wobble per run, so the pictures do not change from one drawing to the next.
			let seed = 17 + index;
			const noise = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31 - 0.5) * 2;
			const speed = Math.log10(run.lr / 1e-5);
			const diverged = run.lr >= 1e-2;
			const rows = Array.from({ length: run.steps }, (_, i) => {
				const step = i + 1;
				const progress = 1 - Math.exp(-step / (220 * (4 - speed)));
				const blowUp = diverged && step > 1_400 ? ((step - 1_400) / 400) ** 2 : 0;
				const loss = 2.9 - 1.9 * progress + 0.06 * noise() + blowUp * 0.3;
				const warmup = Math.min(1, step / 200);
				const metrics: Record<string, number> = {
					'train/loss': loss,
					'train/accuracy': Math.max(0, Math.min(1, 0.25 + 0.55 * progress + 0.02 * noise() - blowUp * 0.05)),
					lr: run.lr * warmup * (0.5 + 0.5 * Math.cos((Math.PI * step) / STEPS)),
					grad_norm: 1.4 * Math.exp(-step / 900) + 0.35 + 0.12 * Math.abs(noise()) + blowUp * 0.8,
					'system/gpu.0.util': 92 + 5 * noise(),
					'system/gpu.1.util': 90 + 6 * noise(),
					'system/gpu.0.memory_gb': 61.2 + 0.4 * warmup + 0.1 * noise(),
					'system/gpu.1.memory_gb': 60.8 + 0.4 * warmup + 0.1 * noise(),
					'throughput/tokens_per_s': 41_000 + 1_500 * noise()
				};
				if (step % 100 === 0) {
					metrics['val/loss'] = 3.0 - 1.85 * progress + 0.02 * noise() + blowUp * 1.5;
					metrics['val/accuracy'] = Math.max(0, 0.24 + 0.53 * progress + 0.01 * noise() - blowUp * 0.1);
					metrics['val/perplexity'] = Math.exp(metrics['val/loss']!);
				}
				return { step, metrics };
			});
			for (let from = 0; from < rows.length; from += 500)
				await post(`/api/training/jobs/${job.id}/metrics`, rows.slice(from, from + 500));
			if (run.finish) await post(`/api/training/jobs/${job.id}/finish`, { status: 'completed' });
		}

		// The first run, still training: the headline and a panel per key, in sections.
		await page.goto(`${server.url}/training/jobs/${ids[0]}`);
		await expect(page.locator('[data-status="running"]')).toBeVisible();
		await expect(page.locator('article[data-key]')).toHaveCount(10);
		await expect(page.getByText(/^2,400 points/)).toBeVisible();
		await screenshotVariants(page, 'job-detail-metrics');

		// Its headline zoomed to a stretch of steps, re-read at full resolution, a tooltip on it.
		const headline = page.locator('.loss-chart');
		const surface = headline.getByRole('application');
		const area = (await surface.boundingBox())!;
		await page.evaluate(() => performance.clearMarks('vapor:zoom-drawn'));
		await page.mouse.move(area.x + area.width * 0.3, area.y + 40);
		await page.mouse.down();
		await page.mouse.move(area.x + area.width * 0.42, area.y + 60, { steps: 6 });
		await page.mouse.up();
		await expect(headline).toHaveAttribute('data-zoomed', /^\d+-\d+$/);
		await page.waitForFunction(() => performance.getEntriesByName('vapor:zoom-drawn').length > 0);
		await page.mouse.move(area.x + area.width * 0.55, area.y + area.height / 2);
		await expect(headline.getByRole('tooltip')).toBeVisible();
		await screenshotVariants(page, 'job-detail-zoomed', { fullPage: false });

		// The four runs by val/loss: the range follows the three that learn, the diverged one is marked.
		await page.goto(`${server.url}/training/compare?ids=${ids.join(',')}&metric=val/loss`);
		const chart = page.locator('.compare-chart');
		await expect(page.locator('[data-testid="compare-data"] tbody tr')).toHaveCount(4);
		await expect(chart).toHaveAttribute('data-outliers', 'excluded');
		await expect.poll(async () => Number(await chart.getAttribute('data-marks'))).toBeGreaterThan(0);
		await screenshotVariants(page, 'compare-val-loss');
	});

	test('the digits example, live', async ({ page }) => {
		// The README's example, really training: torch in the cached virtual environment of
		// the integration tests (this throws, saying why, when it cannot be installed).
		test.setTimeout(600_000);
		const python = await frameworksPython();
		const script = spawn(python, ['clients/examples/digits_torch.py', '--steps', '5000'], {
			env: {
				PATH: process.env.PATH ?? '',
				HOME: process.env.HOME ?? os.homedir(),
				OMP_NUM_THREADS: '1',
				VAPOR_URL: server.url,
				VAPOR_TOKEN: TEST_TOKEN
			},
			stdio: ['ignore', 'pipe', 'pipe']
		});
		try {
			const id = await new Promise<string>((resolve, reject) => {
				let stdout = '';
				let stderr = '';
				script.stdout.on('data', (chunk) => {
					stdout += chunk;
					const match = /job (\S+): \d+ steps/.exec(stdout);
					if (match) resolve(match[1]!);
				});
				script.stderr.on('data', (chunk) => (stderr += chunk));
				script.on('exit', (code) => reject(new Error(`digits_torch.py exited (${code}):\n${stderr}`)));
			});
			await page.goto(`${server.url}/training/jobs/${id}`);
			await expect(page.getByRole('heading', { level: 1, name: 'digits MLP (PyTorch)' })).toBeVisible();
			// Live, past the warm-up and a run of evaluations, well before the end.
			await expect
				.poll(
					async () => {
						const response = await fetch(`${server.url}/api/training/jobs/${id}`, { headers: authorization() });
						return ((await response.json()) as { job: { currentStep: number } }).job.currentStep;
					},
					{ timeout: 300_000 }
				)
				.toBeGreaterThanOrEqual(1800);
			await expect(page.locator('[data-status="running"]')).toBeVisible();
			await screenshotVariants(page, 'digits-example');
		} finally {
			script.kill('SIGKILL');
		}
	});
});
