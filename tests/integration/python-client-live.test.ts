import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { PYTHON_CLIENT, startPython } from '../support/python';
import { authorization, startServer, TEST_TOKEN, type RunningServer } from '../support/server';

const PRELUDE = `import sys, time; sys.path.insert(0, ${JSON.stringify(PYTHON_CLIENT)}); import vapor\n`;
/** A Python script of these lines, for `python -c`. */
const script = (...lines: string[]) => lines.map((line) => `${line}\n`).join('');
const LOST_AFTER_S = 3;

interface KeySummary {
	key: string;
	count: number;
	firstStep: number;
	lastStep: number;
}

describe.each(BACKENDS)('a training script with the Python client, live against the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer({ ...store.env, VAPOR_LOST_AFTER_S: String(LOST_AFTER_S) });
		api = apiClient(server.url);
	}, 120_000);
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const env = () => ({ VAPOR_URL: server.url, VAPOR_TOKEN: TEST_TOKEN });
	const keys = async (id: string) => {
		const response = await fetch(`${server.url}/api/training/jobs/${id}/metrics/keys`, { headers: authorization() });
		return ((await response.json()) as { keys: KeySummary[] }).keys;
	};
	const values = async (id: string, key: string) => {
		const response = await fetch(
			`${server.url}/api/training/jobs/${id}/metrics?key=${encodeURIComponent(key)}&after=0&limit=10000`,
			{ headers: authorization() }
		);
		const { series } = (await response.json()) as { series: { key: string; values: { step: number }[] }[] };
		return series[0]!.values;
	};

	it('trains on through a server outage and a bad value; every step arrives once', async () => {
		const script = startPython(
			[
				'-c',
				PRELUDE +
					`
r = vapor.init(name="through an outage", config={"lr": 0.1}, total_steps=1500)
print("job", r.id, flush=True)
for step in range(1, 1501):
    values = {"train/loss": 1 / step, "train/accuracy": min(1.0, step / 1500), "lr": 0.1}
    if step == 700:
        values["train/accuracy"] = 93  # a percentage where a fraction belongs
    try:
        r.log(values)
    except vapor.BadValue as error:
        print("bad value:", error, flush=True)
    if step % 100 == 0:
        r.log({"val/loss": 2 / step}, step=step)
        print("step", step, flush=True)
    time.sleep(0.004)
print("trained", flush=True)
print("finished", r.finish(timeout=60), r.dropped_values, flush=True)
`
			],
			env()
		);
		try {
			const [, id] = await script.waitFor(/job (\S+)/);
			await script.waitFor(/step 300\n/);
			const port = server.port;
			await server.stop();
			// The loop goes on while Vapor is away: log() never waits for the network.
			await script.waitFor(/step 900\n/);
			server = await startServer({ ...store.env, VAPOR_LOST_AFTER_S: String(LOST_AFTER_S) }, { port });
			api = apiClient(server.url);
			await script.waitFor(/finished True 0/);
			expect(await script.exited, script.output().stderr).toBe(0);
			const { stdout, stderr } = script.output();
			expect(stdout).toMatch(/bad value: 'train\/accuracy' at step 700: 93 is not a fraction from 0 to 1/);
			expect(stderr).toMatch(/could not reach Vapor/);
			expect(stderr).toMatch(/reachable again/);

			expect(await api.getJob(id!)).toMatchObject({
				status: 'completed',
				currentStep: 1500,
				primaryMetric: 'train/loss',
				config: { lr: 0.1 }
			});
			const summary = Object.fromEntries((await keys(id!)).map((key) => [key.key, key]));
			expect(summary['train/loss']).toMatchObject({ count: 1500, firstStep: 1, lastStep: 1500 });
			expect(summary['lr']).toMatchObject({ count: 1500 });
			expect(summary['val/loss']).toMatchObject({ count: 15, firstStep: 100, lastStep: 1500 });
			// The bad value alone was held back: the other values of step 700 and everything after went.
			const accuracy = await values(id!, 'train/accuracy');
			expect(accuracy).toHaveLength(1499);
			expect(accuracy.some((point) => point.step === 700)).toBe(false);
			expect((await values(id!, 'train/loss')).map((point) => point.step)).toEqual(
				Array.from({ length: 1500 }, (_, i) => i + 1)
			);
		} finally {
			script.child.kill('SIGKILL');
		}
	}, 180_000);

	it('a killed script: the job fails with "lost contact"; a script continuing it by id revives it', async () => {
		const doomed = startPython(
			[
				'-c',
				PRELUDE +
					script(
						'r = vapor.init(name="killed")',
						'r.log({"train/loss": 0.9})',
						'r.log({"train/loss": 0.8})',
						'print("job", r.id, flush=True)',
						'time.sleep(600)'
					)
			],
			env()
		);
		const [, id] = await doomed.waitFor(/job (\S+)/);
		await expect.poll(async () => (await api.getJob(id!)).currentStep, { timeout: 15_000 }).toBe(2);
		doomed.child.kill('SIGKILL'); // no atexit, no finish: as an OOM kill or a lost machine
		await doomed.exited;
		await expect.poll(async () => (await api.getJob(id!)).status, { timeout: 30_000 }).toBe('failed');
		expect((await api.getJob(id!)).error).toBe('lost contact with the training script');

		const resumed = startPython(
			[
				'-c',
				PRELUDE +
					script(
						`r = vapor.init(id=${JSON.stringify(id)})`,
						'print("step", r.step, flush=True)',
						'r.log({"train/loss": 0.7})',
						'print("finished", r.finish(), flush=True)'
					)
			],
			env()
		);
		await resumed.waitFor(/finished True/);
		expect(await resumed.exited, resumed.output().stderr).toBe(0);
		expect(resumed.output().stdout).toMatch(/step 2\n/);
		expect(await api.getJob(id!)).toMatchObject({ status: 'completed', error: null, currentStep: 3 });
	}, 120_000);

	it('heartbeats keep a quiet script (a long evaluation) from being given up', async () => {
		const quiet = startPython(
			[
				'-c',
				PRELUDE +
					script(
						'r = vapor.init(name="long evaluation", heartbeat_seconds=0.5)',
						'r.log({"train/loss": 0.5})',
						'print("job", r.id, flush=True)',
						`time.sleep(${LOST_AFTER_S * 3})`,
						'print("awake", flush=True)',
						'r.log({"val/loss": 0.4}, step=1)',
						'print("finished", r.finish(), flush=True)'
					)
			],
			env()
		);
		const [, id] = await quiet.waitFor(/job (\S+)/);
		await quiet.waitFor(/awake/);
		// Three times VAPOR_LOST_AFTER_S without a point, and never given up.
		expect(await api.getJob(id!)).toMatchObject({ status: 'running', error: null });
		expect(server.output()).not.toMatch(new RegExp(`went silent.*${id}`));
		await quiet.waitFor(/finished True/);
		expect(await quiet.exited, quiet.output().stderr).toBe(0);
		expect(await api.getJob(id!)).toMatchObject({ status: 'completed', error: null });
	}, 120_000);
});
