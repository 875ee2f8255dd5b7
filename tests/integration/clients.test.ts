import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vapor } from '../../clients/vapor';
import { apiClient, stepsUpTo } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { startFlakyProxy, type Fault } from '../support/flaky-proxy';
import { startServer, TEST_TOKEN, type RunningServer } from '../support/server';

function run(
	command: string,
	args: string[],
	env: Record<string, string> = {}
): Promise<{ code: number; stdout: string; stderr: string }> {
	return new Promise((resolve) => {
		execFile(
			command,
			args,
			{ env: { PATH: process.env.PATH ?? '', ...env }, timeout: 120_000 },
			(error, stdout, stderr) =>
				resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
		);
	});
}

/** Every 3rd metrics request has its answer cut after the commit; every 4th meets a 503 first. */
function flakyPlan() {
	let metrics = 0;
	let finishes = 0;
	return (method: string, url: string): Fault | undefined => {
		if (method === 'POST' && url.endsWith('/metrics')) {
			metrics++;
			if (metrics % 3 === 1) return 'drop-response';
			if (metrics % 4 === 0) return 'unavailable';
		}
		if (method === 'POST' && url.endsWith('/finish') && finishes++ === 0) return 'drop-response';
		return undefined;
	};
}

const PYTHON_CLIENT_SCRIPT = `
import math, sys
sys.path.insert(0, ${JSON.stringify(path.resolve('clients'))})
from vapor import Vapor, VaporError
url, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]
client = Vapor(url, token, batch_size=40, backoff_seconds=0.05)
run = client.create_job("python client " + mode, epochs=2, steps_per_epoch=100, base_model="mlp", dataset="toy")
print(run.id, flush=True)
if mode == "diverge":
    run.log(1, 0.9, 0.5)
    run.log(2, float("nan"))
    run.finish()
elif mode == "refused":
    try:
        run.log(1, 1.0, 93.0)
        run.flush()
    except VaporError as error:
        print("refused", error.status, error, flush=True)
else:
    for step in range(1, 201):
        run.log(step, 1.0 / step, min(1.0, step / 200))
    run.finish()
`;

describe.each(BACKENDS)('clients and examples against the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer(store.env);
		api = apiClient(server.url);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	it('Python client: batches, survives lost answers and 503s by re-posting, and completes with every step once', async () => {
		const proxy = await startFlakyProxy(server.url, flakyPlan());
		try {
			const result = await run('python3', ['-c', PYTHON_CLIENT_SCRIPT, proxy.url, TEST_TOKEN, 'train']);
			expect(result.code, result.stderr).toBe(0);
			const id = result.stdout.trim();
			const job = await api.getJob(id);
			expect(job).toMatchObject({ status: 'completed', source: 'external', currentStep: 200, baseModel: 'mlp' });
			const points = await api.allPoints(id);
			expect(points.map((p) => p.step)).toEqual(stepsUpTo(200));
			expect(points[99]).toMatchObject({ loss: 1 / 100, accuracy: 0.5, epoch: 1 });
			expect(points[100]!.epoch).toBe(2);
			// The faults really happened, and were retried.
			const metrics = proxy.log.filter((entry) => entry.path.endsWith('/metrics'));
			expect(metrics.filter((entry) => entry.fault === 'drop-response').length).toBeGreaterThanOrEqual(2);
			expect(metrics.some((entry) => entry.fault === 'unavailable')).toBe(true);
			expect(metrics.length).toBeGreaterThan(200 / 40);
		} finally {
			await proxy.close();
		}
	});

	it('Python client: a NaN loss fails the job; a refused point raises with the server message', async () => {
		const diverged = await run('python3', ['-c', PYTHON_CLIENT_SCRIPT, server.url, TEST_TOKEN, 'diverge']);
		expect(diverged.code, diverged.stderr).toBe(0);
		const job = await api.getJob(diverged.stdout.trim());
		expect(job).toMatchObject({ status: 'failed', error: expect.stringMatching(/reported loss = NaN at step 2/) });

		const refused = await run('python3', ['-c', PYTHON_CLIENT_SCRIPT, server.url, TEST_TOKEN, 'refused']);
		expect(refused.code, refused.stderr).toBe(0);
		expect(refused.stdout).toMatch(
			/refused 400 POST .*\/metrics → 400: Point 1 \(step 1\): accuracy must be a fraction from 0 to 1/
		);

		const noToken = await run('python3', [
			'-c',
			PYTHON_CLIENT_SCRIPT,
			server.url,
			'vpr_wrongwrongwrongwrongwrongwrongwrongwrong',
			'train'
		]);
		expect(noToken.code).not.toBe(0);
		expect(noToken.stderr).toMatch(/401: That token is not valid/);
	});

	it('TypeScript client: batches, survives lost answers and 503s by re-posting, and completes with every step once', async () => {
		const proxy = await startFlakyProxy(server.url, flakyPlan());
		try {
			const client = new Vapor(proxy.url, TEST_TOKEN, { batchSize: 40, backoffMs: 20 });
			const runHandle = await client.createJob({ name: 'ts client', epochs: 2, stepsPerEpoch: 100 });
			for (let step = 1; step <= 200; step++) await runHandle.log(step, 1 / step, Math.min(1, step / 200));
			const finished = await runHandle.finish();
			expect(finished.status).toBe('completed');
			const points = await api.allPoints(runHandle.id);
			expect(points.map((p) => p.step)).toEqual(stepsUpTo(200));
			expect(points[49]).toMatchObject({ loss: 1 / 50, accuracy: 0.25 });
			expect(proxy.log.filter((entry) => entry.fault === 'drop-response').length).toBeGreaterThanOrEqual(3);

			const diverging = await client.createJob({ name: 'ts diverges' });
			await diverging.log(1, Number.POSITIVE_INFINITY);
			expect(await api.getJob(diverging.id)).toMatchObject({
				status: 'failed',
				error: expect.stringMatching(/reported loss = Infinity at step 1/)
			});
			await expect(diverging.log(2, 1)).rejects.toThrow(/finished/);

			const refusing = await client.createJob({ name: 'ts refused' });
			await refusing.log(1, 1);
			await expect(refusing.log(1, 1)).rejects.toThrow(/steps must increase/);
			await expect(new Vapor(server.url, 'vpr_nope').request('POST', '/api/training/jobs', {})).rejects.toMatchObject({
				status: 401
			});
		} finally {
			await proxy.close();
		}
	});

	it('the Python example trains softmax regression on iris and reports every step', async () => {
		const result = await run('python3', ['clients/examples/iris_logreg.py', '--url', server.url, '--epochs', '8'], {
			VAPOR_TOKEN: TEST_TOKEN
		});
		expect(result.code, result.stderr).toBe(0);
		const [, id, accuracy] = /job (\S+) completed: training accuracy ([\d.]+)/.exec(result.stdout)!;
		expect(Number(accuracy)).toBeGreaterThan(0.8);
		const job = await api.getJob(id!);
		expect(job).toMatchObject({
			status: 'completed',
			dataset: 'iris',
			stepsPerEpoch: 15,
			totalSteps: 120,
			currentStep: 120
		});
		const points = await api.allPoints(id!);
		expect(points).toHaveLength(120);
		// It learns: the last epoch's loss is well below the first's.
		const mean = (list: typeof points) => list.reduce((sum, p) => sum + p.loss, 0) / list.length;
		expect(mean(points.slice(-15))).toBeLessThan(mean(points.slice(0, 15)) / 2);
	});

	it('the TypeScript example trains a TensorFlow.js network on iris and reports every step', async () => {
		const result = await run(path.resolve('node_modules/.bin/tsx'), [
			'clients/examples/iris-tfjs.ts',
			'--url',
			server.url,
			'--token',
			TEST_TOKEN,
			'--epochs',
			'8'
		]);
		expect(result.code, result.stderr).toBe(0);
		const [, id, accuracy] = /job (\S+) completed: training accuracy ([\d.]+)/.exec(result.stdout)!;
		expect(Number(accuracy)).toBeGreaterThan(0.7);
		const job = await api.getJob(id!);
		expect(job).toMatchObject({ status: 'completed', dataset: 'iris', stepsPerEpoch: 10, currentStep: 80 });
		const points = await api.allPoints(id!);
		expect(points.map((p) => p.epoch)).toEqual(stepsUpTo(80).map((step) => Math.ceil(step / 10)));
		expect(points.every((p) => p.accuracy !== null && p.accuracy >= 0 && p.accuracy <= 1)).toBe(true);
	});
});
