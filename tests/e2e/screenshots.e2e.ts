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
