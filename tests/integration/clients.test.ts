import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, stepsUpTo } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { frameworksPython, run } from '../support/python';
import { authorization, startServer, TEST_TOKEN, type RunningServer } from '../support/server';

interface KeySummary {
	key: string;
	count: number;
	firstStep: number;
	lastStep: number;
	min: number;
	max: number;
}

/** The examples' runs, as the README shows them: VAPOR_URL and VAPOR_TOKEN, a few steps. */
describe.each(BACKENDS)('the examples train real models against the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer(store.env);
		api = apiClient(server.url);
	}, 120_000);
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const env = () => ({ VAPOR_URL: server.url, VAPOR_TOKEN: TEST_TOKEN, OMP_NUM_THREADS: '1' });
	const keys = async (id: string) => {
		const response = await fetch(`${server.url}/api/training/jobs/${id}/metrics/keys`, { headers: authorization() });
		const summary = ((await response.json()) as { keys: KeySummary[] }).keys;
		return Object.fromEntries(summary.map((key) => [key.key, key]));
	};
	const jobOf = (stdout: string) => /job (\S+) completed: (?:training|val) accuracy ([\d.]+)/.exec(stdout);

	it('digits_torch.py: an MLP on the bundled digits, with every key, a scheduled lr and its config', async () => {
		// Throws, with pip's words, when torch and scikit-learn cannot be installed: never a silent pass.
		const python = await frameworksPython();
		const result = await run(python, ['clients/examples/digits_torch.py', '--steps', '240', '--eval-every', '60'], {
			env: env(),
			timeoutMs: 120_000
		});
		expect(result.code, result.stderr.slice(-3000)).toBe(0);
		const match = jobOf(result.stdout);
		expect(match, result.stdout).not.toBeNull();
		const [, id, accuracy] = match!;
		expect(Number(accuracy)).toBeGreaterThan(0.5); // ten classes: chance is 0.1
		expect(await api.getJob(id!)).toMatchObject({
			name: 'digits MLP (PyTorch)',
			status: 'completed',
			currentStep: 240,
			totalSteps: 240,
			primaryMetric: 'train/loss',
			tags: ['example', 'digits', 'pytorch'],
			config: {
				model: { kind: 'mlp', layers: [64, 128, 128, 10] },
				optimizer: { name: 'adamw', lr: 3e-3 },
				schedule: { warmup: 'linear', decay: 'cosine' },
				data: { dataset: 'sklearn digits', train: 1437, val: 360 },
				batch_size: 64,
				steps: 240
			}
		});
		const summary = await keys(id!);
		expect(Object.keys(summary).sort()).toEqual([
			'grad_norm',
			'lr',
			'train/accuracy',
			'train/loss',
			'val/accuracy',
			'val/loss'
		]);
		for (const key of ['train/loss', 'train/accuracy', 'lr', 'grad_norm'])
			expect(summary[key], key).toMatchObject({ count: 240, firstStep: 1, lastStep: 240 });
		expect(summary['val/loss']).toMatchObject({ count: 4, firstStep: 60, lastStep: 240 });
		// Warm-up then cosine decay: the peak is the configured lr, the ends far below it.
		expect(summary['lr']!.max).toBeCloseTo(3e-3, 6);
		expect(summary['lr']!.min).toBeLessThan(3e-4);
		expect(summary['train/accuracy']!.max).toBeLessThanOrEqual(1);
	}, 300_000);

	it('digits_lightning.py: the same with Lightning and VaporLogger', async () => {
		const python = await frameworksPython();
		const result = await run(python, ['clients/examples/digits_lightning.py', '--steps', '120', '--eval-every', '40'], {
			env: env(),
			timeoutMs: 120_000
		});
		expect(result.code, result.stderr.slice(-3000)).toBe(0);
		const match = jobOf(result.stdout);
		expect(match, result.stdout).not.toBeNull();
		const [, id] = match!;
		expect(await api.getJob(id!)).toMatchObject({
			name: 'digits MLP (Lightning)',
			status: 'completed',
			totalSteps: 120,
			tags: ['example', 'digits', 'lightning'],
			// save_hyperparameters() arrives beside the logger's own config.
			config: { hidden: 128, dropout: 0.2, lr: 3e-3, steps: 120, data: { dataset: 'sklearn digits' } }
		});
		const summary = await keys(id!);
		for (const key of ['train/loss', 'train/accuracy', 'lr', 'grad_norm'])
			expect(summary[key], key).toMatchObject({ count: 120, firstStep: 1, lastStep: 120 });
		expect(summary['val/loss']).toMatchObject({ count: 3 });
		expect(summary['val/accuracy']).toMatchObject({ count: 3 });
		expect(summary['lr']!.max).toBeCloseTo(3e-3, 6);
	}, 300_000);

	it('iris_logreg.py: softmax regression in plain Python, every step', async () => {
		const result = await run('python3', ['clients/examples/iris_logreg.py', '--epochs', '8'], { env: env() });
		expect(result.code, result.stderr).toBe(0);
		const [, id, accuracy] = jobOf(result.stdout)!;
		expect(Number(accuracy)).toBeGreaterThan(0.8);
		expect(await api.getJob(id!)).toMatchObject({
			status: 'completed',
			totalSteps: 120,
			currentStep: 120,
			config: { dataset: 'iris', model: 'softmax regression' }
		});
		const points = await api.allPoints(id!);
		expect(points.map((p) => p.step)).toEqual(stepsUpTo(120));
		// It learns: the last epoch's loss is well below the first's.
		const mean = (list: typeof points) => list.reduce((sum, p) => sum + p.loss, 0) / list.length;
		expect(mean(points.slice(-15))).toBeLessThan(mean(points.slice(0, 15)) / 2);
	});

	it('iris-tfjs.ts: a TensorFlow.js network with the TypeScript client, every batch', async () => {
		const result = await run(
			path.resolve('node_modules/.bin/tsx'),
			['clients/examples/iris-tfjs.ts', '--epochs', '8'],
			{
				env: env()
			}
		);
		expect(result.code, result.stderr).toBe(0);
		const [, id, accuracy] = jobOf(result.stdout)!;
		expect(Number(accuracy)).toBeGreaterThan(0.7);
		expect(await api.getJob(id!)).toMatchObject({
			status: 'completed',
			totalSteps: 80,
			currentStep: 80,
			config: { dataset: 'iris' }
		});
		const points = await api.allPoints(id!);
		expect(points.map((p) => p.step)).toEqual(stepsUpTo(80));
		expect(points.every((p) => p.accuracy !== null && p.accuracy >= 0 && p.accuracy <= 1)).toBe(true);
	});
});
