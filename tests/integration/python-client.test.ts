import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { startFlakyProxy } from '../support/flaky-proxy';
import { frameworksPython, PYTHON_CLIENT, run, startPython } from '../support/python';
import { startServer, TEST_TOKEN, type RunningServer } from '../support/server';

const PRELUDE = `import sys, time; sys.path.insert(0, ${JSON.stringify(PYTHON_CLIENT)}); import vapor\n`;

describe('the Python client package', () => {
	it("passes its own tests (a local HTTP server answering like Vapor), and prints log()'s cost", async () => {
		const result = await run(
			'python3',
			['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-p', 'test_client.py'],
			{
				timeoutMs: 300_000
			}
		);
		expect(result.code, result.stderr).toBe(0);
		expect(result.stderr).toMatch(/Ran \d+ tests[\s\S]*OK/);
		const cost = /vapor log\(\) with 10 keys: median ([\d.]+) µs/.exec(result.stdout);
		expect(cost, result.stdout).not.toBeNull();
		console.log(cost![0]);
	}, 300_000);

	it('integrations work with the real frameworks (Lightning, Transformers, Keras on torch)', async () => {
		// Throws, saying why, when the frameworks cannot be installed from the package index.
		const python = await frameworksPython();
		const result = await run(python, ['-m', 'unittest', 'clients/python/tests/test_integrations.py'], {
			timeoutMs: 600_000,
			env: { KERAS_BACKEND: 'torch', OMP_NUM_THREADS: '1' }
		});
		expect(result.code, result.stderr.slice(-4000)).toBe(0);
		expect(result.stderr).toMatch(/Ran 5 tests[\s\S]*OK/);
	}, 1_800_000);
});

describe.each(BACKENDS)('the Python client against the built server (%s)', (backend) => {
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

	const env = () => ({ VAPOR_URL: server.url, VAPOR_TOKEN: TEST_TOKEN });

	it('creates the job with config and tags, adds config keys, and fails the job on an exception', async () => {
		const result = await run(
			'python3',
			[
				'-c',
				PRELUDE +
					`
try:
    with vapor.init(name="py config", config={"optimizer": {"name": "adamw", "lr": 3e-4}, "seed": 1}, tags=["py", "baseline"]) as r:
        print(r.id, flush=True)
        r.config.update({"data": {"version": "v2"}})
        raise ValueError("the data loader broke")
except ValueError:
    pass
`
			],
			{ env: env() }
		);
		expect(result.code, result.stderr).toBe(0);
		const job = await api.getJob(result.stdout.trim());
		expect(job).toMatchObject({
			name: 'py config',
			source: 'external',
			status: 'failed',
			error: 'ValueError: the data loader broke',
			tags: ['py', 'baseline'],
			config: { optimizer: { name: 'adamw', lr: 3e-4 }, seed: 1, data: { version: 'v2' } }
		});
	}, 120_000);

	it('re-posts batches whose answers were lost after the commit, and 503s; every step is stored once', async () => {
		let metrics = 0;
		const proxy = await startFlakyProxy(server.url, (method, path) => {
			if (method !== 'POST' || !path.endsWith('/metrics')) return undefined;
			metrics++;
			if (metrics === 2) return 'unavailable';
			return metrics === 1 || metrics === 3 || metrics % 7 === 0 ? 'drop-response' : undefined;
		});
		try {
			const result = await run(
				'python3',
				[
					'-c',
					PRELUDE +
						`
r = vapor.init(name="py through a flaky proxy", batch_seconds=0.05)
print(r.id, flush=True)
for step in range(1, 1001):
    r.log({"train/loss": 1 / step})
    if step % 10 == 0:
        time.sleep(0.005)
print("finished", r.finish(timeout=60), flush=True)
`
				],
				{ env: { ...env(), VAPOR_URL: proxy.url } }
			);
			expect(result.code, result.stderr).toBe(0);
			expect(result.stdout).toMatch(/finished True/);
			const id = result.stdout.split('\n')[0]!.trim();
			const points = await api.allPoints(id);
			expect(points.map((point) => point.step)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
			expect(proxy.log.filter((entry) => entry.fault === 'drop-response').length).toBeGreaterThanOrEqual(2);
			expect(proxy.log.some((entry) => entry.fault === 'unavailable')).toBe(true);
		} finally {
			await proxy.close();
		}
	}, 120_000);

	it('a wrong token is refused at init, before training, with the server message', async () => {
		const result = await run('python3', ['-c', PRELUDE + 'vapor.init(name="x")'], {
			env: { ...env(), VAPOR_TOKEN: 'vpr_wrongwrongwrongwrongwrongwrongwrongwrong' }
		});
		expect(result.code).not.toBe(0);
		expect(result.stderr).toMatch(/VaporError: POST \/api\/training\/jobs → 401: That token is not valid/);
	}, 120_000);

	it('Vapor down when the script starts: training goes on, the job is created once the server is back', async () => {
		await server.stop();
		const script = startPython(
			[
				'-c',
				PRELUDE +
					`
r = vapor.init(name="started during an outage", config={"lr": 0.1})
print("initialised", r.id, flush=True)
for i in range(50):
    time.sleep(0.02)
print("trained", flush=True)
while r.id is None:
    time.sleep(0.05)
print("created", r.id, flush=True)
r.finish(timeout=60)
`
			],
			env()
		);
		try {
			await script.waitFor(/initialised None/);
			await script.waitFor(/trained/);
			server = await startServer(store.env, { port: server.port });
			api = apiClient(server.url);
			const [, id] = await script.waitFor(/created (\S+)/);
			expect(await script.exited, script.output().stderr).toBe(0);
			expect(await api.getJob(id!)).toMatchObject({ status: 'completed', config: { lr: 0.1 } });
			expect(script.output().stderr).toMatch(/could not reach Vapor .* buffering and retrying in the background/);
		} finally {
			script.child.kill('SIGKILL');
		}
	}, 120_000);
});
