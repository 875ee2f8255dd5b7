/**
 * Suite "stream": live points to N concurrent clients by SSE, against the same N
 * clients polling GET …/metrics every 1.5 s, on the built server (adapter-node) with
 * the simulator ticking every 50 ms for one running job, on real Postgres.
 * Mode "values" (named metrics, issue #13): N clients of the version-2 stream
 * (`?v=2`, every key) of an external job that a writer in the bench feeds over HTTP with
 * one step of VALUES_KEYS keys every 50 ms, as a training script would; every client must
 * see every position once, each row with all its keys.
 */
import fs from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import postgres from 'postgres';
import { startPostgresCluster, type PostgresCluster } from '../tests/support/postgres-cluster';
import { authorization, startServer, type RunningServer, BENCH_READS } from '../tests/support/server';
import { SseParser } from '../src/lib/training/sse';
import type { StreamRow } from '../src/lib/training/stream-rows';
import { ensureBuild } from './lib/build';
import {
	CpuMeter,
	envNumber,
	envNumbers,
	MachineMeter,
	onAbort,
	memoryMiB,
	postgresPids,
	printTable,
	round,
	SelfMeter,
	sleep,
	smokeOr,
	summarize,
	type Summary
} from './lib/measure';

const CLIENT_COUNTS = envNumbers('BENCH_STREAM_CLIENTS', [100, 500, 1000], [10]);
const MODES = (process.env.BENCH_STREAM_MODES ?? 'sse,poll,values').split(',') as Mode[];
const WINDOW_MS = envNumber('BENCH_STREAM_WINDOW_MS', 15_000, 1_000);
const STOP_TIMEOUT_MS = 10_000;
const STEP_MS = 50;
const POLL_MS = 1_500;
const CONNECT_TIMEOUT_MS = 30_000;
const SETTLE_MS = smokeOr(1_000, 100);
const TARGET_P99_MS = 100;
/** Other work above this (% of one core) makes a phase's latency and rates unreliable. */
const CONTENDED_PERCENT = 25;

type Mode = 'sse' | 'poll' | 'values';
/** Keys per step of the "values" mode's job. */
const VALUES_KEYS = 20;

interface Point {
	step: number;
	recordedAt: string;
}

export interface StreamFigures {
	mode: Mode;
	clients: number;
	connected: number;
	windowSeconds: number;
	/** Receipt time minus the point's recordedAt, ms, for points received in the window. */
	latencyMs: Summary;
	lost: number;
	duplicated: number;
	/** "values" mode: values missing from received rows (each row must carry VALUES_KEYS keys). */
	missingValues?: number;
	/** "values" mode: steps the writer committed in the window, and its request time. */
	writer?: { steps: number; failed: number; requestMs: Summary };
	clientsWithGaps: number;
	/** Points each client received in the window: the fewest and the median. */
	pointsPerClient: { min: number; median: number };
	clientErrors: number;
	/** Polling only: requests answered in the window and their response time. */
	requests?: { count: number; perSecond: number; responseMs: Summary };
	serverCpuPercent: number;
	postgresCpuPercent: number;
	benchCpuPercent: number;
	machineCpuPercent: number;
	/** Machine CPU not used by the server, Postgres or the bench: other work on the machine. */
	otherCpuPercent: number;
	/** Points the simulator committed in the window: what each client should receive. */
	committedInWindow: number;
	serverRssMiB: { idle: number; end: number; peak: number };
	/** The bench process's own event-loop delay: high values inflate measured latency. */
	clientLoopDelayP99Ms: number;
	serverWarnings: number;
	/** How long the server took to exit after SIGTERM; a hang is killed after 10 s. */
	shutdown: { ms: number; hung: boolean; outputTail?: string[] };
}

/** SIGTERM, then SIGKILL if the server has not exited in time. */
async function stopServer(server: RunningServer): Promise<StreamFigures['shutdown']> {
	const started = performance.now();
	const exited = server.stop().then(() => true);
	const inTime = await Promise.race([exited, sleep(STOP_TIMEOUT_MS).then(() => false)]);
	const ms = Math.round(performance.now() - started);
	if (inTime) return { ms, hung: false };
	// The distinct messages of the last lines (a request error can repeat hundreds of times).
	const lines = server
		.output()
		.trimEnd()
		.split('\n')
		.slice(-500)
		.map((line) => line.replace(/"stack":".*$/, '').slice(0, 240));
	const outputTail = [...new Set(lines)].slice(-12);
	await server.kill();
	return { ms, hung: true, outputTail };
}

function openFileLimit(): number {
	const line = fs
		.readFileSync('/proc/self/limits', 'utf8')
		.split('\n')
		.find((l) => l.startsWith('Max open files'));
	return Number(line?.split(/\s+/)[3] ?? Number.NaN);
}

/** The API's job answers; the bench reads only these fields. */
type JobAnswer = { job: { id: string; currentStep: number } };

async function requestJson(url: string, method = 'GET', body?: unknown): Promise<JobAnswer> {
	const response = await fetch(url, {
		method,
		// Writes need a token: the bench servers seed TEST_TOKEN like the test servers.
		headers: { ...authorization(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
	if (!response.ok) throw new Error(`${method} ${url} → ${response.status}: ${await response.text()}`);
	return response.json();
}

/** Follows one client's steps: each must be exactly one more than the last. */
class StepTracker {
	last: number | undefined;
	lost = 0;
	duplicated = 0;
	inWindow = 0;

	accept(step: number): boolean {
		if (this.last === undefined) {
			this.last = step;
			return true;
		}
		if (step <= this.last) {
			this.duplicated++;
			return false;
		}
		this.lost += step - this.last - 1;
		this.last = step;
		return true;
	}
}

interface Window {
	open: boolean;
	latencies: number[];
}

interface Client {
	tracker: StepTracker;
	connected: Promise<boolean>;
	error?: string;
	close(): void;
}

function sseClient(agent: http.Agent, url: string, window: Window, counts?: { missingValues: number }): Client {
	const tracker = new StepTracker();
	const parser = new SseParser();
	let request: http.ClientRequest | undefined;
	const client: Client = {
		tracker,
		connected: new Promise((resolve) => {
			request = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (response) => {
				if (response.statusCode !== 200) {
					client.error = `status ${response.statusCode}`;
					response.resume();
					return resolve(false);
				}
				response.setEncoding('utf8');
				response.on('data', (chunk: string) => {
					const receivedAt = Date.now();
					for (const event of parser.push(chunk)) {
						if (event.event === 'status') {
							// The first event: its id is the step the stream starts after.
							if (tracker.last === undefined && event.lastEventId !== '') tracker.last = Number(event.lastEventId);
							resolve(true);
							continue;
						}
						if (event.event === 'values') {
							// Version 2: ids and rows are positions; every row holds all the step's keys.
							for (const row of JSON.parse(event.data) as StreamRow[]) {
								if (!tracker.accept(row.position) || !window.open) continue;
								tracker.inWindow++;
								counts!.missingValues += Math.max(0, VALUES_KEYS - Object.keys(row.values).length);
								window.latencies.push(receivedAt - Date.parse(row.recordedAt));
							}
							continue;
						}
						if (event.event !== 'metrics') continue;
						for (const point of JSON.parse(event.data) as Point[]) {
							if (!tracker.accept(point.step) || !window.open) continue;
							tracker.inWindow++;
							window.latencies.push(receivedAt - Date.parse(point.recordedAt));
						}
					}
				});
				response.on('error', () => {});
				response.on('end', () => {
					if (window.open) client.error = 'server ended the stream';
				});
			});
			request.on('error', (error) => {
				client.error = error.message;
				resolve(false);
			});
			request.setTimeout(CONNECT_TIMEOUT_MS, () => {
				if (tracker.last === undefined) request!.destroy(new Error('no status event'));
			});
		}),
		close: () => request?.destroy()
	};
	return client;
}

function pollClient(
	baseUrl: string,
	jobId: string,
	startStep: number,
	firstDelayMs: number,
	window: Window,
	stats: { responseMs: number[]; requests: number }
): Client {
	// One connection per client, kept alive between polls, as a browser would.
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	const tracker = new StepTracker();
	tracker.last = startStep;
	let stopped = false;
	let timer: NodeJS.Timeout | undefined;
	let current: http.ClientRequest | undefined;
	let resolveConnected!: (ok: boolean) => void;
	const client: Client = {
		tracker,
		connected: new Promise((resolve) => (resolveConnected = resolve)),
		close() {
			stopped = true;
			clearTimeout(timer);
			current?.destroy();
			agent.destroy();
		}
	};
	let due = performance.now() + firstDelayMs;
	const poll = () => {
		if (stopped) return;
		const started = performance.now();
		current = http.get(
			`${baseUrl}/api/training/jobs/${jobId}/metrics?after=${tracker.last}&limit=1000`,
			{ agent },
			(response) => {
				let body = '';
				response.setEncoding('utf8');
				response.on('data', (chunk: string) => (body += chunk));
				response.on('end', () => {
					const receivedAt = Date.now();
					if (response.statusCode !== 200) {
						client.error = `status ${response.statusCode}`;
					} else {
						resolveConnected(true);
						for (const point of (JSON.parse(body) as { metrics: Point[] }).metrics) {
							if (!tracker.accept(point.step) || !window.open) continue;
							tracker.inWindow++;
							window.latencies.push(receivedAt - Date.parse(point.recordedAt));
						}
						if (window.open) {
							stats.requests++;
							stats.responseMs.push(performance.now() - started);
						}
					}
					schedule();
				});
				response.on('error', () => {});
			}
		);
		current.on('error', (error) => {
			if (stopped) return;
			client.error = error.message;
			resolveConnected(false);
			schedule();
		});
	};
	const schedule = () => {
		// A fixed 1.5 s rhythm; a slow answer delays the next poll, never overlaps it.
		due += POLL_MS;
		while (due < performance.now()) due += POLL_MS;
		timer = setTimeout(poll, due - performance.now());
	};
	timer = setTimeout(poll, firstDelayMs);
	return client;
}

/** Where the "values" job's writer is: steps continue across phases (and server restarts). */
let writerStep = 0;

/**
 * A training script's reporting loop: one step of VALUES_KEYS keys every STEP_MS, each
 * request awaited (a slow answer delays the next step, never overlaps it).
 */
function startWriter(baseUrl: string, jobId: string) {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	const keys = Array.from({ length: VALUES_KEYS }, (_, k) => (k === 0 ? 'train/loss' : `metric/${k}`));
	let stopped = false;
	const stats = { steps: 0, failed: 0, requestMs: [] as number[], counting: false };
	const post = (body: string) =>
		new Promise<number>((resolve, reject) => {
			const request = http.request(
				`${baseUrl}/api/training/jobs/${jobId}/metrics`,
				{ method: 'POST', agent, headers: { ...authorization(), 'content-type': 'application/json' } },
				(response) => {
					response.resume();
					response.on('end', () => resolve(response.statusCode ?? 0));
				}
			);
			request.on('error', reject);
			request.end(body);
		});
	const done = (async () => {
		let due = performance.now();
		while (!stopped) {
			const step = ++writerStep;
			const metrics = Object.fromEntries(keys.map((key, k) => [key, 1 / Math.sqrt(step) + k * 1e-3]));
			const started = performance.now();
			const status = await post(JSON.stringify([{ step, metrics }])).catch(() => 0);
			if (stats.counting) {
				stats.requestMs.push(performance.now() - started);
				if (status === 200) stats.steps++;
				else stats.failed++;
			}
			due += STEP_MS;
			const wait = due - performance.now();
			if (wait > 0) await sleep(wait);
			else due = performance.now();
		}
	})();
	return {
		stats,
		async stop() {
			stopped = true;
			await done;
			agent.destroy();
		}
	};
}

async function phase(
	cluster: PostgresCluster,
	sql: postgres.Sql,
	env: Record<string, string>,
	jobId: string,
	mode: Mode,
	count: number
): Promise<StreamFigures> {
	const server: RunningServer = await startServer(env);
	const forget = onAbort(() => server.kill());
	const pid = server.process.pid!;
	const clients: Client[] = [];
	let writer: ReturnType<typeof startWriter> | undefined;
	let figures: Omit<StreamFigures, 'shutdown'>;
	let shutdown: StreamFigures['shutdown'];
	try {
		await sleep(SETTLE_MS);
		const idleRss = memoryMiB(pid).rss;
		const window: Window = { open: false, latencies: [] };
		const pollStats = { responseMs: [] as number[], requests: 0 };
		const counts = { missingValues: 0 };

		if (mode === 'values') writer = startWriter(server.url, jobId);
		if (mode === 'sse' || mode === 'values') {
			const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
			const url = `${server.url}/api/training/jobs/${jobId}/stream?${mode === 'values' ? 'v=2&' : ''}after=latest`;
			// Connect in waves so the listen backlog never overflows.
			for (let i = 0; i < count; i += 100) {
				const wave = Array.from({ length: Math.min(100, count - i) }, () => sseClient(agent, url, window, counts));
				clients.push(...wave);
				await Promise.all(wave.map((client) => client.connected));
			}
		} else {
			const { job } = await requestJson(`${server.url}/api/training/jobs/${jobId}`);
			for (let i = 0; i < count; i++)
				clients.push(pollClient(server.url, jobId, job.currentStep, (i * POLL_MS) / count, window, pollStats));
			// Every client has polled once when the staggered first round is over.
			await Promise.race([Promise.all(clients.map((client) => client.connected)), sleep(POLL_MS + CONNECT_TIMEOUT_MS)]);
		}
		await sleep(SETTLE_MS);

		const serverCpu = new CpuMeter(() => [pid]);
		const pgCpu = new CpuMeter(() => postgresPids(cluster.dataDir));
		const self = new SelfMeter();
		const machine = new MachineMeter();
		const loopDelay = monitorEventLoopDelay({ resolution: 10 });
		for (const client of clients) client.tracker.inWindow = 0;
		counts.missingValues = 0;
		if (writer) writer.stats.counting = true;
		serverCpu.start();
		pgCpu.start();
		self.start();
		machine.start();
		loopDelay.enable();
		window.open = true;
		const windowStart = new Date();
		const started = performance.now();
		await sleep(WINDOW_MS);
		window.open = false;
		if (writer) writer.stats.counting = false;
		const windowEnd = new Date();
		const seconds = (performance.now() - started) / 1000;
		loopDelay.disable();
		const cpu = {
			serverCpuPercent: round(serverCpu.stop()),
			postgresCpuPercent: round(pgCpu.stop()),
			benchCpuPercent: round(self.stop()),
			machineCpuPercent: round(machine.stop())
		};
		const memory = memoryMiB(pid);
		const [{ committed }] = await sql<{ committed: number }[]>`
			select count(*)::int as committed from metric_rows
			where job_id = ${jobId} and recorded_at >= ${windowStart} and recorded_at < ${windowEnd}`;

		const received = clients.map((client) => client.tracker.inWindow).sort((a, b) => a - b);
		figures = {
			mode,
			clients: count,
			connected: clients.filter((client) => client.tracker.last !== undefined && !client.error).length,
			windowSeconds: round(seconds, 2),
			latencyMs: summarize(window.latencies),
			lost: clients.reduce((sum, client) => sum + client.tracker.lost, 0),
			duplicated: clients.reduce((sum, client) => sum + client.tracker.duplicated, 0),
			...(writer
				? {
						missingValues: counts.missingValues,
						writer: {
							steps: writer.stats.steps,
							failed: writer.stats.failed,
							requestMs: summarize(writer.stats.requestMs)
						}
					}
				: {}),
			clientsWithGaps: clients.filter((client) => client.tracker.lost + client.tracker.duplicated > 0).length,
			pointsPerClient: { min: received[0] ?? 0, median: received[Math.floor(received.length / 2)] ?? 0 },
			clientErrors: clients.filter((client) => client.error).length,
			...(mode === 'poll'
				? {
						requests: {
							count: pollStats.requests,
							perSecond: round(pollStats.requests / seconds),
							responseMs: summarize(pollStats.responseMs)
						}
					}
				: {}),
			...cpu,
			otherCpuPercent: round(
				Math.max(0, cpu.machineCpuPercent - cpu.serverCpuPercent - cpu.postgresCpuPercent - cpu.benchCpuPercent)
			),
			committedInWindow: committed,
			serverRssMiB: { idle: round(idleRss), end: round(memory.rss), peak: round(memory.peak) },
			clientLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 1),
			serverWarnings: server
				.output()
				.split('\n')
				.filter((line) => /"level":"(warn|error)"/.test(line)).length
		};
	} finally {
		await writer?.stop();
		for (const client of clients) client.close();
		shutdown = await stopServer(server);
		forget();
	}
	if (shutdown.hung)
		console.log(
			`stream: the server did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM; killed. Last lines:\n${shutdown.outputTail!.join('\n')}`
		);
	return { ...figures, shutdown };
}

export async function runStreamSuite() {
	const fileLimit = openFileLimit();
	const needed = Math.max(...CLIENT_COUNTS) * 2 + 500; // client and server ends share this limit
	if (!(fileLimit >= needed)) {
		throw new Error(
			`ulimit -n is ${fileLimit}; the stream suite needs about ${needed}. Run \`ulimit -n 65536\` in this shell first.`
		);
	}
	const build = ensureBuild();
	const cluster = await startPostgresCluster();
	const forgetCluster = onAbort(() => cluster.stop());
	const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const results: StreamFigures[] = [];
	try {
		const env = { DATABASE_URL: cluster.url, VAPOR_SIM_STEP_MS: String(STEP_MS), VAPOR_DEMO: '0', ...BENCH_READS };
		const setup = await startServer(env);
		const forgetSetup = onAbort(() => setup.kill());
		let jobId: string;
		let valuesJobId: string;
		try {
			const { job } = await requestJson(`${setup.url}/api/training/jobs`, 'POST', {
				name: 'stream bench',
				baseModel: 'bert-base',
				dataset: 'imdb',
				epochs: 1000, // 100,000 steps at 20 a second: runs far longer than the suite
				learningRate: 3e-4,
				batchSize: 32
			});
			jobId = job.id;
			// Only the modes that read it: a simulated job ticking beside the "values" one would load it.
			if (MODES.includes('sse') || MODES.includes('poll'))
				await requestJson(`${setup.url}/api/training/jobs/${jobId}/start`, 'POST');
			const values = await requestJson(`${setup.url}/api/training/jobs`, 'POST', {
				name: 'stream bench, 20 keys a step',
				source: 'external',
				baseModel: 'bert-base',
				dataset: 'imdb',
				epochs: 1000,
				primaryMetric: 'train/loss'
			});
			valuesJobId = values.job.id;
		} finally {
			await stopServer(setup);
			forgetSetup();
		}
		for (const mode of MODES) {
			for (const count of CLIENT_COUNTS) {
				const what =
					mode === 'sse'
						? 'SSE clients'
						: mode === 'values'
							? `v=2 SSE clients of ${VALUES_KEYS} keys a step`
							: 'polling clients (every 1.5 s)';
				console.log(`stream: ${count} ${what}, ${WINDOW_MS / 1000} s …`);
				results.push(await phase(cluster, sql, env, mode === 'values' ? valuesJobId : jobId, mode, count));
			}
		}
	} finally {
		await sql.end({ timeout: 5 });
		cluster.stop();
		forgetCluster();
	}

	const ms = (value: number) => round(value, 1);
	console.log(
		`\nstream: one job, a point every ${STEP_MS} ms; delivery latency = receipt − recordedAt (targets: ` +
			`SSE p99 < ${TARGET_P99_MS} ms at 1000, nothing lost or duplicated, SSE CPU ≤ polling CPU)`
	);
	printTable(
		results.map((r) => ({
			mode: r.mode,
			clients: r.clients,
			connected: r.connected,
			'p50 ms': ms(r.latencyMs.p50),
			'p99 ms': ms(r.latencyMs.p99),
			'max ms': ms(r.latencyMs.max),
			lost: r.lost,
			dup: r.duplicated,
			'values missing': r.missingValues ?? '',
			committed: r.committedInWindow,
			'pts/client min': r.pointsPerClient.min,
			'server CPU %': r.serverCpuPercent,
			'postgres CPU %': r.postgresCpuPercent,
			'bench CPU %': r.benchCpuPercent,
			'other CPU %': r.otherCpuPercent,
			'RSS idle MiB': r.serverRssMiB.idle,
			'RSS end MiB': r.serverRssMiB.end,
			'RSS peak MiB': r.serverRssMiB.peak,
			'client lag p99 ms': r.clientLoopDelayP99Ms,
			'exit after SIGTERM': r.shutdown.hung ? `hung, killed at ${STOP_TIMEOUT_MS / 1000} s` : `${r.shutdown.ms} ms`
		}))
	);
	const valuesResults = results.filter((r) => r.mode === 'values');
	const valuesTop = valuesResults.find((r) => r.clients === Math.max(...CLIENT_COUNTS));
	const valuesTargets = valuesTop && {
		p99Under100msAt1000: valuesTop.latencyMs.p99 < TARGET_P99_MS,
		noLostOrRepeated: valuesResults.every(
			(r) => r.lost === 0 && r.duplicated === 0 && r.missingValues === 0 && r.connected === r.clients
		),
		writerSteps: valuesTop.writer?.steps
	};
	if (valuesTargets) console.log('\nstream: values (v=2, 20 keys a step) targets', valuesTargets);
	const sseAt = (n: number) => results.find((r) => r.mode === 'sse' && r.clients === n)!;
	const pollAt = (n: number) => results.find((r) => r.mode === 'poll' && r.clients === n)!;
	if (!MODES.includes('sse') || !MODES.includes('poll')) return { partial: true, valuesTargets, results };
	console.log('\nstream: SSE vs polling at the same N');
	printTable(
		CLIENT_COUNTS.map((n) => ({
			clients: n,
			'server CPU SSE/poll': round(sseAt(n).serverCpuPercent / pollAt(n).serverCpuPercent, 2),
			'postgres CPU SSE/poll': round(sseAt(n).postgresCpuPercent / pollAt(n).postgresCpuPercent, 2),
			'RSS end SSE/poll': round(sseAt(n).serverRssMiB.end / pollAt(n).serverRssMiB.end, 2),
			'p99 SSE/poll': round(sseAt(n).latencyMs.p99 / pollAt(n).latencyMs.p99, 3),
			'poll req/s': pollAt(n).requests?.perSecond ?? 0
		}))
	);

	const top = Math.max(...CLIENT_COUNTS);
	const targets = {
		p99Under100msAt1000: sseAt(top).latencyMs.p99 < TARGET_P99_MS,
		noLostOrDuplicated: results
			.filter((r) => r.mode === 'sse')
			.every((r) => r.lost === 0 && r.duplicated === 0 && r.connected === r.clients),
		sseCpuAtMostPolling: CLIENT_COUNTS.every((n) => sseAt(n).serverCpuPercent <= pollAt(n).serverCpuPercent)
	};
	const contended = results.filter((r) => r.otherCpuPercent > CONTENDED_PERCENT).map((r) => `${r.mode} ${r.clients}`);
	console.log('\nstream: targets', targets);
	if (contended.length > 0)
		console.log(
			`stream: other work used > ${CONTENDED_PERCENT} % CPU during: ${contended.join(', ')}; re-run on a quiet machine.`
		);
	return {
		fileLimit,
		contended,
		rebuilt: build.rebuilt,
		stepMs: STEP_MS,
		pollMs: POLL_MS,
		windowMs: WINDOW_MS,
		targets,
		valuesTargets,
		results
	};
}
