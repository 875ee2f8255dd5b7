import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadValue, init, VaporError, type InitOptions, type Logger } from '../../clients/typescript/src/index';
import { apiClient } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { startFlakyProxy } from '../support/flaky-proxy';
import { buildTsClient, startNodeScript } from '../support/node-script';
import { freePort } from '../support/postgres-cluster';
import { authorization, startServer, TEST_TOKEN, type RunningServer } from '../support/server';

const LOST_AFTER_S = 2;

interface KeySummary {
	key: string;
	count: number;
	firstStep: number;
	lastStep: number;
	lastValue: number | null;
	lastNonFinite?: string;
}

/** A logger that keeps what the client says, for assertions. */
function recorder(): Logger & { lines: string[] } {
	const lines: string[] = [];
	return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

const IMPORT = `import { init, BadValue } from 'vapor-client';\nconst sleep = (ms) => new Promise((r) => setTimeout(r, ms));\n`;

describe.each(BACKENDS)('the TypeScript client against the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;
	const serverEnv = () => ({ ...store.env, VAPOR_LOST_AFTER_S: String(LOST_AFTER_S) });

	beforeAll(async () => {
		[store] = await Promise.all([createTestStore(backend), buildTsClient()]);
		server = await startServer(serverEnv());
		api = apiClient(server.url);
	}, 180_000);
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const options = (extra: InitOptions = {}): InitOptions => ({
		url: server.url,
		token: TEST_TOKEN,
		exitHooks: false, // not in the test runner's own process
		batchMs: 50,
		...extra
	});
	const keys = async (id: string) => {
		const response = await fetch(`${server.url}/api/training/jobs/${id}/metrics/keys`, { headers: authorization() });
		const summary = ((await response.json()) as { keys: KeySummary[] }).keys;
		return Object.fromEntries(summary.map((key) => [key.key, key]));
	};
	const steps = async (id: string, key: string) => {
		const response = await fetch(
			`${server.url}/api/training/jobs/${id}/metrics?key=${encodeURIComponent(key)}&after=0&limit=10000`,
			{ headers: authorization() }
		);
		const { series } = (await response.json()) as { series: { values: { step: number }[] }[] };
		return series[0]!.values.map((value) => value.step);
	};
	const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

	it('reports named metrics, config and tags; a bad value throws at its call and holds nothing back', async () => {
		const logger = recorder();
		const run = await init(
			options({
				name: 'ts named metrics',
				config: { optimizer: { name: 'adamw', lr: 3e-4 }, seed: 1 },
				tags: ['ts', 'baseline'],
				totalSteps: 300,
				logger
			})
		);
		expect(run.id).toMatch(/\S/);
		const thrown: string[] = [];
		for (let step = 1; step <= 300; step++) {
			const values: Record<string, number> = {
				'train/loss': 1 / step,
				'train/accuracy': Math.min(1, step / 300),
				lr: 1e-3
			};
			if (step === 150) values['train/accuracy'] = 93; // a percentage where a fraction belongs
			try {
				run.log(values);
			} catch (error) {
				expect(error).toBeInstanceOf(BadValue);
				thrown.push((error as Error).message);
			}
			if (step % 100 === 0) run.log({ 'val/loss': 2 / step, 'val/accuracy': 0.5 }, step);
		}
		expect(() => run.log({ note: 'hello' as unknown as number })).toThrow(
			'"note" at step 301: "hello" is not a number'
		);
		expect(() => run.log({ 'loss?': 1 }, 302)).toThrow(/metric key "loss\?" may only hold/);
		expect(() => run.log({ 'train/loss': 0.1 }, 300)).toThrow(
			'"train/loss" at step 300: step does not come after its last step 300'
		);
		run.log({ diverged: Number.NaN, up: Number.POSITIVE_INFINITY }, 303);
		run.config.update({ data: { version: 'v2' } });
		expect(await run.finish()).toBe(true);

		expect(thrown).toEqual(['"train/accuracy" at step 150: 93 is not a fraction from 0 to 1 (0.93, not 93)']);
		expect(run.job).toMatchObject({ status: 'completed' });
		expect(await api.getJob(run.id!)).toMatchObject({
			name: 'ts named metrics',
			source: 'external',
			status: 'completed',
			primaryMetric: 'train/loss',
			totalSteps: 300,
			tags: ['ts', 'baseline'],
			config: { optimizer: { name: 'adamw', lr: 3e-4 }, seed: 1, data: { version: 'v2' } }
		});
		const summary = await keys(run.id!);
		expect(summary['train/loss']).toMatchObject({ count: 300, firstStep: 1, lastStep: 300 });
		expect(summary['lr']).toMatchObject({ count: 300 });
		expect(summary['val/loss']).toMatchObject({ count: 3, firstStep: 100, lastStep: 300 });
		expect(summary['diverged']).toMatchObject({ count: 1, lastValue: null, lastNonFinite: 'NaN' });
		expect(summary['up']).toMatchObject({ lastNonFinite: 'Infinity' });
		expect(summary['note']).toBeUndefined();
		// Only the bad value was held back: the other values of step 150 went.
		expect(await steps(run.id!, 'train/accuracy')).toEqual(upTo(300).filter((step) => step !== 150));
		expect(await steps(run.id!, 'train/loss')).toEqual(upTo(300));
		expect(run.sentValues).toBe(300 * 3 - 1 + 3 * 2 + 2);
		// Values went in batches, not a request per log().
		expect(run.requests).toBeLessThan(60);
		expect(logger.lines.join('\n')).toMatch(new RegExp(`reporting into job ${run.id}`));
	});

	it('a wrong token rejects at init, before training, with the server message', async () => {
		const refused = init(options({ name: 'x', token: 'vpr_wrongwrongwrongwrongwrongwrongwrongwrong' }));
		await expect(refused).rejects.toBeInstanceOf(VaporError);
		await expect(refused).rejects.toThrow(/POST \/api\/training\/jobs → 401: That token is not valid/);
		await expect(init({ url: server.url, exitHooks: false })).rejects.toThrow(/needs an API token/);
	});

	it('re-posts batches whose answers were lost; each value is stored once', async () => {
		let metrics = 0;
		const proxy = await startFlakyProxy(server.url, (method, path) => {
			if (method !== 'POST' || !path.endsWith('/metrics')) return undefined;
			// The first batch: committed but its answer lost, then a 503, then lost again; later
			// every 7th answer is lost.
			metrics++;
			if (metrics === 2) return 'unavailable';
			return metrics === 1 || metrics === 3 || metrics % 7 === 0 ? 'drop-response' : undefined;
		});
		try {
			const run = await init(options({ url: proxy.url, name: 'ts through a flaky proxy', batchValues: 100 }));
			for (let step = 1; step <= 1000; step++) {
				run.log({ 'train/loss': 1 / step });
				if (step % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
			}
			expect(await run.finish('completed', undefined, { timeoutMs: 60_000 })).toBe(true);
			expect(await steps(run.id!, 'train/loss')).toEqual(upTo(1000));
			expect(proxy.log.filter((entry) => entry.fault === 'drop-response').length).toBeGreaterThanOrEqual(2);
			expect(proxy.log.some((entry) => entry.fault === 'unavailable')).toBe(true);
		} finally {
			await proxy.close();
		}
	});

	it('one row the server refuses is found by halves; the rest of its batch goes', async () => {
		const first = await init(options({ name: 'ts refused row' }));
		for (let step = 1; step <= 10; step++) first.log({ x: step });
		await expect.poll(async () => (await api.getJob(first.id!)).currentStep).toBe(10);
		// A second script continues the running job and sends x at a stored step with another value.
		const logger = recorder();
		const second = await init(options({ id: first.id!, batchMs: 5_000, logger }));
		expect(second.step).toBe(10);
		second.log({ x: 99 }, 5);
		for (let step = 11; step <= 30; step++) second.log({ y: step });
		expect(await second.finish()).toBe(true);
		expect(second.refusedValues).toBe(1);
		expect(logger.lines.join('\n')).toMatch(/Vapor refused 1 values: .*409/);
		expect(await steps(first.id!, 'y')).toEqual(upTo(30).slice(10));
		expect((await keys(first.id!))['x']).toMatchObject({ count: 10, lastValue: 10 });
		expect(await api.getJob(first.id!)).toMatchObject({ status: 'completed' });
		// The first script's finish now meets a finished job: it resolves, nothing thrown.
		expect(await first.finish()).toBe(true);
		expect(await api.getJob(first.id!)).toMatchObject({ status: 'completed' });
	});

	it('trains on through a server outage and a bad value; every step arrives once (a script of its own)', async () => {
		const script = startNodeScript(
			IMPORT +
				`
const run = await init({ name: 'ts through an outage', config: { lr: 0.1 }, totalSteps: 1500 });
console.log('job', run.id);
for (let step = 1; step <= 1500; step++) {
	const values = { 'train/loss': 1 / step, 'train/accuracy': Math.min(1, step / 1500), lr: 0.1 };
	if (step === 700) values['train/accuracy'] = 93;
	try {
		run.log(values);
	} catch (error) {
		console.log('bad value:', error instanceof BadValue, error.message);
	}
	if (step % 100 === 0) {
		run.log({ 'val/loss': 2 / step }, step);
		console.log('step', step);
	}
	await sleep(4);
}
console.log('trained');
console.log('finished', await run.finish('completed', undefined, { timeoutMs: 60_000 }), run.droppedValues);
`,
			{ VAPOR_URL: server.url, VAPOR_TOKEN: TEST_TOKEN }
		);
		try {
			const [, id] = await script.waitFor(/job (\S+)/);
			await script.waitFor(/step 300\n/);
			const port = server.port;
			await server.stop();
			// The loop goes on while Vapor is away: log() never waits for the network.
			await script.waitFor(/step 900\n/);
			server = await startServer(serverEnv(), { port });
			api = apiClient(server.url);
			await script.waitFor(/finished true 0/);
			const { stdout, stderr } = script.output();
			expect(await script.exited, stderr).toEqual({ code: 0, signal: null });
			expect(stdout).toMatch(/bad value: true "train\/accuracy" at step 700: 93 is not a fraction from 0 to 1/);
			expect(stderr).toMatch(/could not reach Vapor .*buffering and retrying in the background/);
			expect(stderr).toMatch(/reachable again after \d+ failed attempts/);

			// Silent for longer than VAPOR_LOST_AFTER_S, the job was given up as lost; the values
			// after the outage revived it, and it finished.
			const job = await api.getJob(id!);
			expect(job, `error: ${job.error}\n${server.output().slice(-2000)}`).toMatchObject({
				status: 'completed',
				currentStep: 1500,
				config: { lr: 0.1 }
			});
			const summary = await keys(id!);
			expect(summary['train/loss']).toMatchObject({ count: 1500, firstStep: 1, lastStep: 1500 });
			expect(summary['lr']).toMatchObject({ count: 1500 });
			expect(summary['val/loss']).toMatchObject({ count: 15, firstStep: 100, lastStep: 1500 });
			expect(await steps(id!, 'train/loss')).toEqual(upTo(1500));
			expect(await steps(id!, 'train/accuracy')).toEqual(upTo(1500).filter((step) => step !== 700));
		} finally {
			script.child.kill('SIGKILL');
		}
	}, 240_000);

	it('a script that ends without finish() sends everything and completes the job', async () => {
		const script = startNodeScript(
			IMPORT +
				`
const run = await init({ name: 'ts forgot finish', batchMs: 10_000 });
console.log('job', run.id);
for (let step = 1; step <= 500; step++) run.log({ 'train/loss': 1 / step });
`,
			{ VAPOR_URL: server.url, VAPOR_TOKEN: TEST_TOKEN }
		);
		const [, id] = await script.waitFor(/job (\S+)/);
		expect(await script.exited, script.output().stderr).toEqual({ code: 0, signal: null });
		expect(await api.getJob(id!)).toMatchObject({ status: 'completed', currentStep: 500 });
		expect(await steps(id!, 'train/loss')).toEqual(upTo(500));
	});

	it('SIGTERM sends what is queued, fails the job, and the script dies of the signal', async () => {
		const script = startNodeScript(
			IMPORT +
				`
const run = await init({ name: 'ts terminated', batchMs: 30_000 });
run.log({ 'train/loss': 0.5 });
console.log('job', run.id);
setInterval(() => {}, 1000);
`,
			{ VAPOR_URL: server.url, VAPOR_TOKEN: TEST_TOKEN }
		);
		const [, id] = await script.waitFor(/job (\S+)/);
		script.child.kill('SIGTERM');
		expect(await script.exited).toEqual({ code: null, signal: 'SIGTERM' });
		expect(await api.getJob(id!)).toMatchObject({
			status: 'failed',
			error: 'the training script was terminated (SIGTERM)',
			currentStep: 1
		});
	});

	it('an uncaught exception fails the job with it, and the script still exits 1 with the error printed', async () => {
		const script = startNodeScript(
			IMPORT +
				`
const run = await init({ name: 'ts crashes' });
run.log({ 'train/loss': 1 });
console.log('job', run.id);
setTimeout(() => { throw new RangeError('CUDA out of memory'); }, 10);
`,
			{ VAPOR_URL: server.url, VAPOR_TOKEN: TEST_TOKEN }
		);
		const [, id] = await script.waitFor(/job (\S+)/);
		expect(await script.exited).toEqual({ code: 1, signal: null });
		expect(script.output().stderr).toMatch(/RangeError: CUDA out of memory/);
		expect(await api.getJob(id!)).toMatchObject({
			status: 'failed',
			error: 'RangeError: CUDA out of memory',
			currentStep: 1
		});
	});

	it('heartbeats keep a quiet script (a long evaluation) from being given up', async () => {
		const run = await init(options({ name: 'ts long evaluation', heartbeatMs: 300 }));
		run.log({ 'train/loss': 0.5 });
		await expect.poll(async () => (await api.getJob(run.id!)).status).toBe('running');
		const before = run.requests;
		// Three times VAPOR_LOST_AFTER_S without a point, and never given up.
		await new Promise((resolve) => setTimeout(resolve, LOST_AFTER_S * 3 * 1000));
		expect(await api.getJob(run.id!)).toMatchObject({ status: 'running', error: null });
		expect(run.requests - before).toBeGreaterThanOrEqual(LOST_AFTER_S * 2);
		run.log({ 'val/loss': 0.4 }, 1);
		expect(await run.finish()).toBe(true);
		expect(await api.getJob(run.id!)).toMatchObject({ status: 'completed', error: null });
	}, 60_000);
});

describe('the TypeScript client with no Vapor at all', () => {
	beforeAll(() => buildTsClient(), 120_000);

	it('at exit, waits a bounded time, then says what was left', async () => {
		const port = await freePort(); // nothing listens there
		const started = Date.now();
		const script = startNodeScript(
			IMPORT +
				`
const run = await init({ name: 'never reaches Vapor' });
console.log('started', run.id);
for (let step = 1; step <= 100; step++) run.log({ a: 1, b: 2 });
`,
			{ VAPOR_URL: `http://127.0.0.1:${port}`, VAPOR_TOKEN: TEST_TOKEN, VAPOR_FLUSH_TIMEOUT_S: '1' }
		);
		await script.waitFor(/started null/);
		expect(await script.exited).toEqual({ code: 0, signal: null });
		expect(Date.now() - started).toBeLessThan(20_000);
		const { stderr } = script.output();
		expect(stderr).toMatch(/could not reach Vapor at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
		expect(stderr).toMatch(/gave up sending after 1 s: 200 values were not sent, and the job was not marked completed/);
	});

	it('a full buffer drops the oldest values, counts them and says so once', async () => {
		const port = await freePort();
		const logger = recorder();
		const run = await init({
			url: `http://127.0.0.1:${port}`,
			token: TEST_TOKEN,
			exitHooks: false,
			maxBufferedValues: 100,
			logger
		});
		for (let step = 1; step <= 300; step++) run.log({ a: 1, b: 2 }, step);
		expect(run.droppedValues).toBe(500);
		expect(run.unsentValues).toBe(100);
		expect(await run.finish('completed', undefined, { timeoutMs: 200 })).toBe(false);
		const said = logger.lines.join('\n');
		expect(said.match(/the buffer is full/g)).toHaveLength(1);
		expect(said).toMatch(/500 values were dropped while the buffer was full/);
		expect(said).toMatch(/gave up sending after 0 s: 100 values were not sent/);
	});
});
