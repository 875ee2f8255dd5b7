/**
 * Suite "chaos" (issue 17): two instances of the built server on one real Postgres for
 * BENCH_CHAOS_MINUTES (20), while things break on a schedule:
 *  - every 60–120 s one instance is SIGKILLed and started again on its port;
 *  - every 5 minutes PostgreSQL restarts (fast shutdown);
 *  - once, at 40 % of the run, every Postgres process is frozen (SIGSTOP) for 20 s.
 * Meanwhile BENCH_CHAOS_JOBS (50) simulated jobs train, BENCH_CHAOS_WRITERS (10) external
 * writers post batches over plain HTTP (retrying a refused batch, as the project's
 * clients do), and BENCH_CHAOS_CLIENTS (300) stream clients follow jobs, each cut at a
 * random moment and resumed by Last-Event-ID on a random instance.
 * Reported: values delivered vs committed (lost, duplicated: both must be 0), the
 * longest stall per client, 5xx answers by cause, RSS over time per instance, writer
 * retries. `--smoke` runs every kind of fault once in seconds.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import postgres from 'postgres';
import { postgresProcesses, startPostgresCluster } from '../tests/support/postgres-cluster';
import { authorization, BENCH_READS, startServer, type RunningServer } from '../tests/support/server';
import { SseParser } from '../src/lib/training/sse';
import { ensureBuild } from './lib/build';
import {
	cpuSeconds,
	envNumber,
	MachineMeter,
	memoryMiB,
	onAbort,
	percentile,
	printTable,
	round,
	SelfMeter,
	sleep,
	smokeOr
} from './lib/measure';

const MINUTES = envNumber('BENCH_CHAOS_MINUTES', 20);
const DURATION_MS = smokeOr(MINUTES * 60_000, 12_000);
const JOBS = envNumber('BENCH_CHAOS_JOBS', 50, 3);
const WRITERS = envNumber('BENCH_CHAOS_WRITERS', 10, 2);
const CLIENTS = envNumber('BENCH_CHAOS_CLIENTS', 300, 10);
const FREEZE_MS = smokeOr(20_000, 1_500);
const STEP_MS = 200;
const WRITER_BATCH = 20;
const WRITER_EVERY_MS = 500;
const SAMPLE_MS = smokeOr(15_000, 2_000);
/** A client's connection lasts this long (uniformly random) before the bench cuts it. */
const CUT_AFTER_MS: [number, number] = smokeOr([3_000, 30_000], [500, 3_000]);
/** A folder for a per-connection trace and the servers' logs (BENCH_CHAOS_TRACE=dir), to explain stalls. */
const TRACE_DIR = process.env.BENCH_CHAOS_TRACE;

const random = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;

/** One connection of a stream client, as the trace keeps it. */
interface Connection {
	at: number;
	port: number;
	/** HTTP status, or the connection error's code. */
	outcome: string;
	headersMs?: number;
	firstPointMs?: number;
	points: number;
	/** The largest wait of a value delivered on this connection (receipt − commit). */
	maxLagMs: number;
	endedBy?: 'cut' | 'end' | 'error';
	endedMs?: number;
}

interface Client {
	jobId: string;
	lastStep: number;
	lastEventId: string;
	points: number;
	lost: number;
	duplicated: number;
	connects: number;
	cuts: number;
	lastPointAt: number | undefined;
	stalls: { from: number; to: number }[];
	/** The longest a committed value waited before this client had it: its stall, whatever the writer did. */
	maxLagMs: number;
	/** When that value was committed, and when it arrived. */
	maxLagAt?: { committed: number; received: number };
	trace: Connection[];
	request?: http.ClientRequest;
}

/** 5xx (and connection failures) by who saw them and why. */
class Causes {
	readonly counts = new Map<string, number>();
	add(cause: string) {
		this.counts.set(cause, (this.counts.get(cause) ?? 0) + 1);
	}
	toJSON() {
		return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
	}
}

function follow(client: Client, urls: () => string[], stopped: () => boolean, causes: Causes): void {
	if (stopped()) return;
	client.connects++;
	const base = pick(urls());
	const url = `${base}/api/training/jobs/${client.jobId}/stream`;
	const opened = Date.now();
	const traced: Connection = {
		at: opened,
		port: Number(new URL(base).port),
		outcome: 'pending',
		points: 0,
		maxLagMs: 0
	};
	client.trace.push(traced);
	const ended = (by: Connection['endedBy']) => {
		if (traced.endedBy) return;
		traced.endedBy = by;
		traced.endedMs = Date.now() - opened;
	};
	const headers: Record<string, string> = { accept: 'text/event-stream' };
	if (client.lastEventId) headers['last-event-id'] = client.lastEventId;
	let reconnected = false;
	const reconnect = () => {
		if (reconnected) return;
		reconnected = true;
		client.request = undefined;
		clearTimeout(cut);
		if (!stopped()) setTimeout(() => follow(client, urls, stopped, causes), random(100, 1_000));
	};
	const request = http.get(url, { headers, agent: false }, (response) => {
		const status = response.statusCode ?? 0;
		traced.outcome = String(status);
		traced.headersMs = Date.now() - opened;
		if (status >= 500) causes.add(`stream ${status}`);
		if (status !== 200) {
			response.resume();
			response.on('end', () => {
				ended('end');
				reconnect();
			});
			return;
		}
		const parser = new SseParser();
		response.setEncoding('utf8');
		response.on('data', (chunk: string) => {
			for (const event of parser.push(chunk)) {
				if (event.lastEventId) client.lastEventId = event.lastEventId;
				if (event.event !== 'metrics') continue;
				const now = Date.now();
				if (client.lastPointAt !== undefined) client.stalls.push({ from: client.lastPointAt, to: now });
				client.lastPointAt = now;
				traced.firstPointMs ??= now - opened;
				for (const { step, recordedAt } of JSON.parse(event.data) as { step: number; recordedAt: string }[]) {
					client.points++;
					traced.points++;
					const committed = Date.parse(recordedAt);
					const lag = now - committed;
					if (lag > traced.maxLagMs) traced.maxLagMs = lag;
					if (step > client.lastStep && lag > client.maxLagMs) {
						client.maxLagMs = lag;
						client.maxLagAt = { committed, received: now };
					}
					if (step <= client.lastStep) client.duplicated++;
					else {
						client.lost += step - client.lastStep - 1;
						client.lastStep = step;
					}
				}
			}
		});
		response.on('end', () => {
			ended('end');
			reconnect();
		});
		response.on('error', () => {
			ended('error');
			reconnect();
		});
	});
	request.on('error', (error: NodeJS.ErrnoException) => {
		// Our own cut of a request still waiting for its answer is no failure of the server's
		// (it was counted as a connection reset before): it is a slow answer, counted apart.
		if (traced.endedBy === 'cut') return;
		if (traced.outcome === 'pending') traced.outcome = error.code ?? error.message;
		ended('error');
		if (!stopped()) causes.add(`stream connect ${error.code ?? error.message}`);
		reconnect();
	});
	// The bench cuts every connection at a random moment, as flaky networks do.
	const cut = setTimeout(
		() => {
			client.cuts++;
			ended('cut');
			if (traced.outcome === 'pending') {
				traced.outcome = 'no answer before the cut';
				causes.add('stream: no answer before the bench cut it');
			}
			request.destroy();
			reconnect();
		},
		random(...CUT_AFTER_MS)
	);
	client.request = request;
}

interface Writer {
	jobId: string;
	acked: number;
	retries: number;
}

/** Posts WRITER_BATCH steps every WRITER_EVERY_MS; a refused or failed batch is sent again, to any instance. */
async function write(writer: Writer, urls: () => string[], stopped: () => boolean, causes: Causes): Promise<void> {
	while (!stopped()) {
		const from = writer.acked + 1;
		const body = JSON.stringify(
			Array.from({ length: WRITER_BATCH }, (_, i) => ({ step: from + i, loss: 1 / (from + i), accuracy: 0.5 }))
		);
		for (;;) {
			try {
				const response = await fetch(`${pick(urls())}/api/training/jobs/${writer.jobId}/metrics`, {
					method: 'POST',
					headers: { 'content-type': 'application/json', ...authorization() },
					body,
					signal: AbortSignal.timeout(15_000)
				});
				const answer = (await response.json()) as { error?: string };
				if (response.ok) break;
				if (response.status >= 500) causes.add(`ingest ${response.status}: ${answer.error?.slice(0, 60)}`);
			} catch (error) {
				causes.add(`ingest ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name}`);
			}
			writer.retries++;
			await sleep(random(250, 1_000));
		}
		writer.acked += WRITER_BATCH;
		await sleep(WRITER_EVERY_MS);
	}
}

/**
 * For each client's longest wait (a value committed at `committed`, received at `received`),
 * what its connections did meanwhile: the answer to "is it the server or the client?".
 *  - "connected, no live points": one connection was open and answered 200 for most of the
 *    wait, yet the value did not come (the server did not send it live);
 *  - "connecting": the wait was spent on failed attempts (refused, reset, 5xx) or on
 *    connections that had no answer yet;
 *  - "history slow": connections answered but took long to send their first point.
 */
function explainStalls(clients: Client[], started: number) {
	const kinds = new Map<string, { clients: number; longestMs: number[] }>();
	const examples: unknown[] = [];
	for (const client of clients) {
		if (!client.maxLagAt || client.maxLagMs < 5_000) continue;
		const { committed, received } = client.maxLagAt;
		const during = client.trace.filter((c) => c.at < received && c.at + (c.endedMs ?? Infinity) > committed);
		const overlap = (c: Connection) =>
			Math.max(0, Math.min(received, c.at + (c.endedMs ?? received - c.at)) - Math.max(committed, c.at));
		const openMs = during
			.filter((c) => c.outcome === '200')
			.reduce((sum, c) => sum + Math.max(0, overlap(c) - (c.firstPointMs ?? c.endedMs ?? 0)), 0);
		const historyMs = during
			.filter((c) => c.outcome === '200')
			.reduce((sum, c) => sum + Math.min(overlap(c), c.firstPointMs ?? c.endedMs ?? 0), 0);
		const failed = during.filter((c) => c.outcome !== '200');
		const wait = received - committed;
		const kind =
			openMs > wait / 2
				? 'connected, no live points'
				: historyMs > wait / 2
					? 'history slow'
					: `connecting (${[...new Set(failed.map((c) => c.outcome))].join(', ') || 'no attempt'})`;
		const entry = kinds.get(kind) ?? { clients: 0, longestMs: [] };
		entry.clients++;
		entry.longestMs.push(wait);
		kinds.set(kind, entry);
		if (examples.length < 5 && wait > 20_000)
			examples.push({
				jobId: client.jobId,
				waitMs: wait,
				committedAtS: round((committed - started) / 1000),
				connections: during.map((c) => ({ ...c, at: round((c.at - started) / 1000) }))
			});
	}
	if (examples.length) console.log('  examples of long waits:', JSON.stringify(examples, null, 1));
	return Object.fromEntries(
		[...kinds].map(([kind, { clients, longestMs }]) => [
			kind,
			{
				clients,
				p50Ms: Math.round(
					percentile(
						longestMs.sort((a, b) => a - b),
						50
					)
				),
				maxMs: Math.max(...longestMs)
			}
		])
	);
}

type Fault = { atMs: number; kind: 'kill' | 'postgres restart' | 'freeze' };

function schedule(): Fault[] {
	if (DURATION_MS <= 20_000)
		return [
			{ atMs: 2_000, kind: 'kill' },
			{ atMs: 5_000, kind: 'postgres restart' },
			{ atMs: 8_000, kind: 'freeze' }
		];
	const faults: Fault[] = [];
	for (let at = random(60_000, 120_000); at < DURATION_MS - 30_000; at += random(60_000, 120_000))
		faults.push({ atMs: at, kind: 'kill' });
	for (let at = 300_000; at < DURATION_MS - 30_000; at += 300_000) faults.push({ atMs: at, kind: 'postgres restart' });
	faults.push({ atMs: DURATION_MS * 0.4, kind: 'freeze' });
	return faults.sort((a, b) => a.atMs - b.atMs);
}

export async function runChaosSuite() {
	ensureBuild();
	const cluster = await startPostgresCluster();
	const forgetCluster = onAbort(() => cluster.stop());
	const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const env = {
		DATABASE_URL: cluster.url,
		VAPOR_SIM_STEP_MS: String(STEP_MS),
		VAPOR_SSE_HEARTBEAT_MS: '5000',
		...BENCH_READS
	};
	const servers: RunningServer[] = await Promise.all([startServer(env), startServer(env)]);
	const forgetServers = onAbort(() => Promise.all(servers.map((s) => s.kill())));
	const urls = () => servers.map((s) => s.url);
	const causes = new Causes();
	const clients: Client[] = [];
	const writers: Writer[] = [];
	let stopping = false;
	let writersStopping = false;
	const stopped = () => stopping;
	const faultsDone: { atS: number; kind: string; tookMs: number }[] = [];
	let freezeWindow: { from: number; to: number } | undefined;
	try {
		const api = async (path: string, body?: unknown) => {
			const response = await fetch(`${pick(urls())}${path}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...authorization() },
				body: body === undefined ? undefined : JSON.stringify(body)
			});
			if (!response.ok) throw new Error(`POST ${path} → ${response.status}: ${await response.text()}`);
			return ((await response.json()) as { job: { id: string } }).job;
		};
		const jobIds: string[] = [];
		for (let n = 0; n < JOBS; n++) {
			const job = await api('/api/training/jobs', {
				name: `chaos ${n + 1}`,
				baseModel: 'bert-base',
				dataset: 'imdb',
				epochs: 1000
			});
			await api(`/api/training/jobs/${job.id}/start`);
			jobIds.push(job.id);
		}
		for (let n = 0; n < WRITERS; n++) {
			const job = await api('/api/training/jobs', {
				name: `chaos writer ${n + 1}`,
				source: 'external',
				baseModel: 'script',
				dataset: 'iris',
				epochs: 1000,
				stepsPerEpoch: 1000
			});
			writers.push({ jobId: job.id, acked: 0, retries: 0 });
		}
		const writing = writers.map((writer) => write(writer, urls, () => writersStopping, causes));
		const followed = [...jobIds, ...writers.map((w) => w.jobId)];
		for (let n = 0; n < CLIENTS; n++) {
			const client: Client = {
				jobId: followed[n % followed.length]!,
				lastStep: 0,
				lastEventId: '',
				points: 0,
				lost: 0,
				duplicated: 0,
				connects: 0,
				cuts: 0,
				lastPointAt: undefined,
				stalls: [],
				maxLagMs: 0,
				trace: []
			};
			clients.push(client);
			follow(client, urls, stopped, causes);
		}

		const faults = schedule();
		console.log(
			`chaos: ${JOBS} jobs, ${WRITERS} writers, ${CLIENTS} clients over 2 instances for ${DURATION_MS / 1000} s; ` +
				`faults: ${faults.map((f) => `${f.kind} at ${Math.round(f.atMs / 1000)} s`).join(', ')}`
		);
		const started = Date.now();
		const samples: {
			atS: number;
			rssMiB: number[];
			cpuPercent?: { servers: number[]; postgres: number; bench: number; machine: number };
			benchLoopDelayMs?: { p99: number; max: number };
			delivered?: number;
		}[] = [];
		// Whether the bench's own process keeps up (300 clients in one Node process): its CPU and event-loop delay.
		const loopDelay = monitorEventLoopDelay({ resolution: 20 });
		loopDelay.enable();
		const selfMeter = new SelfMeter();
		const machineMeter = new MachineMeter();
		machineMeter.start();
		let lastCpu = new Map<number, number>();
		let lastCpuAt = performance.now();
		let lastDelivered = 0;
		const processCpu = () => {
			const now = new Map<number, number>();
			for (const pid of [...servers.map((s) => s.process.pid!), ...postgresProcesses(cluster.dataDir)])
				now.set(pid, cpuSeconds(pid) ?? 0);
			return now;
		};
		lastCpu = processCpu();
		let nextSample = SAMPLE_MS;
		const crashes: { atS: number; exit: string; output: string }[] = [];
		let incarnation = 0;
		/** Keeps a server's log in the trace folder before it is replaced. */
		const keepLog = (server: RunningServer) => {
			if (TRACE_DIR)
				fs.writeFileSync(path.join(TRACE_DIR, `server-${server.port}-${++incarnation}.log`), server.output());
		};
		const sample = async () => {
			// An instance that exited on its own is a finding: recorded with its last words, then restarted.
			for (const [index, server] of servers.entries()) {
				const { exitCode, signalCode } = server.process;
				if (exitCode === null && signalCode === null) continue;
				const output = server.output().split('\n').slice(-15).join('\n');
				crashes.push({ atS: Math.round((Date.now() - started) / 1000), exit: String(exitCode ?? signalCode), output });
				console.log(`  an instance exited by itself (${exitCode ?? signalCode}):\n${output}`);
				keepLog(server);
				servers[index] = await startServer(env, { port: server.port });
			}
			const rssMiB = servers.map((s) => round(memoryMiB(s.process.pid!).rss));
			const seconds = (performance.now() - lastCpuAt) / 1000;
			const cpu = processCpu();
			// A process born in the window (a restarted instance, new backends) counts from 0.
			const used = (pid: number) => (100 * ((cpu.get(pid) ?? 0) - (lastCpu.get(pid) ?? 0))) / seconds;
			const postgresPids = [...cpu.keys()].filter((pid) => !servers.some((s) => s.process.pid === pid));
			const cpuPercent = {
				servers: servers.map((s) => Math.round(used(s.process.pid!))),
				postgres: Math.round(postgresPids.reduce((sum, pid) => sum + used(pid), 0)),
				bench: Math.round(selfMeter.stop()),
				machine: Math.round(machineMeter.stop())
			};
			lastCpu = cpu;
			lastCpuAt = performance.now();
			selfMeter.start();
			machineMeter.start();
			const benchLoopDelayMs = { p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) };
			loopDelay.reset();
			const points = clients.reduce((sum, c) => sum + c.points, 0);
			samples.push({
				atS: Math.round((Date.now() - started) / 1000),
				rssMiB,
				cpuPercent,
				benchLoopDelayMs,
				delivered: points - lastDelivered
			});
			lastDelivered = points;
			console.log(
				`  ${samples.at(-1)!.atS} s: RSS ${rssMiB.join(' / ')} MiB, ${points} points delivered; CPU % servers ` +
					`${cpuPercent.servers.join(' / ')}, postgres ${cpuPercent.postgres}, bench ${cpuPercent.bench}, ` +
					`machine ${cpuPercent.machine}; bench loop delay p99 ${benchLoopDelayMs.p99} ms, max ${benchLoopDelayMs.max} ms`
			);
		};
		// Every scheduled fault happens, even when a restart on a loaded machine ran late.
		while (Date.now() - started < DURATION_MS || faults.length > 0) {
			const elapsed = Date.now() - started;
			const fault = faults[0];
			if (fault && fault.atMs <= elapsed) {
				faults.shift();
				const t0 = Date.now();
				if (fault.kind === 'kill') {
					const index = Math.floor(Math.random() * servers.length);
					const victim = servers[index]!;
					await victim.kill();
					keepLog(victim);
					servers[index] = await startServer(env, { port: victim.port });
				} else if (fault.kind === 'postgres restart') {
					// In the background: a blocking pg_ctl would stop this process's clients from reading too.
					await cluster.restartInBackground();
				} else {
					const pids = postgresProcesses(cluster.dataDir);
					for (const pid of pids) process.kill(pid, 'SIGSTOP');
					freezeWindow = { from: Date.now(), to: Date.now() + FREEZE_MS };
					await sleep(FREEZE_MS);
					for (const pid of pids) process.kill(pid, 'SIGCONT');
				}
				faultsDone.push({ atS: Math.round(elapsed / 1000), kind: fault.kind, tookMs: Date.now() - t0 });
				console.log(`  ${Math.round(elapsed / 1000)} s: ${fault.kind} (${Date.now() - t0} ms)`);
				continue;
			}
			if (elapsed >= nextSample) {
				await sample();
				nextSample += SAMPLE_MS;
			}
			await sleep(100);
		}
		await sample();

		// Writers finish their batch; clients catch up to what is committed, then stop.
		writersStopping = true;
		await Promise.all(writing);
		const lastStored = async () =>
			new Map(
				(
					await sql<
						{ job_id: string; last: number }[]
					>`select job_id, max(step) as last from metric_rows group by job_id`
				).map((r) => [r.job_id, r.last])
			);
		const committed = await lastStored();
		const catchUpBy = Date.now() + 20_000;
		while (Date.now() < catchUpBy && clients.some((c) => c.lastStep < (committed.get(c.jobId) ?? 0))) await sleep(200);
		stopping = true;
		for (const client of clients) client.request?.destroy();

		// The writers' jobs hold exactly the steps they were told were stored.
		const writerRows = await sql<{ job_id: string; n: number; last: number }[]>`
			select job_id, count(*)::int as n, max(step) as last from metric_rows
			where job_id = any(${writers.map((w) => w.jobId)}::uuid[]) group by job_id`;
		const writerMismatch = writers.filter((w) => {
			const row = writerRows.find((r) => r.job_id === w.jobId);
			return !row || row.n !== row.last || row.last < w.acked;
		}).length;
		const longest = (client: Client, skipFreeze: boolean) =>
			Math.max(
				0,
				...client.stalls
					.filter((s) => !skipFreeze || !freezeWindow || s.to < freezeWindow.from || s.from > freezeWindow.to + 5_000)
					.map((s) => s.to - s.from)
			);
		const stalls = clients.map((c) => longest(c, false)).sort((a, b) => a - b);
		const stallsOutsideFreeze = clients.map((c) => longest(c, true)).sort((a, b) => a - b);
		const behind = clients.map((c) => (committed.get(c.jobId) ?? 0) - c.lastStep);
		const lags = clients.map((c) => c.maxLagMs).sort((a, b) => a - b);
		// Per client, its longest wait on connections that did not overlap the freeze (or the 5 s after it).
		const outside = (c: Connection) =>
			!freezeWindow || c.at > freezeWindow.to + 5_000 || c.at + (c.endedMs ?? 0) < freezeWindow.from;
		const lagsOutsideFreeze = clients
			.map((c) => Math.max(0, ...c.trace.filter(outside).map((connection) => connection.maxLagMs)))
			.sort((a, b) => a - b);
		const stallCauses = explainStalls(clients, started);
		if (TRACE_DIR) {
			for (const server of servers) keepLog(server);
			fs.writeFileSync(
				path.join(TRACE_DIR, 'clients.json'),
				JSON.stringify(
					clients.map((c) => ({ jobId: c.jobId, maxLagMs: c.maxLagMs, maxLagAt: c.maxLagAt, trace: c.trace })),
					null,
					0
				)
			);
			fs.writeFileSync(path.join(TRACE_DIR, 'samples.json'), JSON.stringify({ started, faultsDone, samples }, null, 1));
		}
		const figures = {
			minutes: round(DURATION_MS / 60_000, 2),
			jobs: JOBS,
			writers: WRITERS,
			clients: CLIENTS,
			faults: faultsDone,
			crashes,
			pointsDelivered: clients.reduce((sum, c) => sum + c.points, 0),
			lost: clients.reduce((sum, c) => sum + c.lost, 0),
			duplicated: clients.reduce((sum, c) => sum + c.duplicated, 0),
			clientsBehindCommittedAtEnd: behind.filter((b) => b > 0).length,
			writerValuesAcked: writers.reduce((sum, w) => sum + w.acked, 0),
			writerJobsNotExactlyAcked: writerMismatch,
			writerRetries: writers.reduce((sum, w) => sum + w.retries, 0),
			reconnects: clients.reduce((sum, c) => sum + c.connects - 1, 0),
			cuts: clients.reduce((sum, c) => sum + c.cuts, 0),
			longestStallPerClientMs: {
				p50: Math.round(percentile(stalls, 50)),
				p95: Math.round(percentile(stalls, 95)),
				max: stalls.at(-1) ?? 0
			},
			longestStallPerClientOutsideFreezeMs: {
				p50: Math.round(percentile(stallsOutsideFreeze, 50)),
				p95: Math.round(percentile(stallsOutsideFreeze, 95)),
				max: stallsOutsideFreeze.at(-1) ?? 0
			},
			longestWaitOfACommittedValuePerClientMs: {
				p50: Math.round(percentile(lags, 50)),
				p95: Math.round(percentile(lags, 95)),
				max: lags.at(-1) ?? 0
			},
			longestWaitOutsideFreezeMs: {
				p50: Math.round(percentile(lagsOutsideFreeze, 50)),
				p95: Math.round(percentile(lagsOutsideFreeze, 95)),
				max: lagsOutsideFreeze.at(-1) ?? 0
			},
			longestWaitsByWhatTheClientWasDoing: stallCauses,
			serverErrorsByCause: causes.toJSON(),
			rssMiB: samples
		};
		printTable(
			[0, 1].map((i) => ({
				instance: i === 0 ? 'A' : 'B',
				'RSS first': samples[0]?.rssMiB[i] ?? '',
				max: Math.max(...samples.map((s) => s.rssMiB[i] ?? 0)),
				last: samples.at(-1)?.rssMiB[i] ?? ''
			}))
		);
		console.log(
			`delivered ${figures.pointsDelivered}; lost ${figures.lost}; duplicated ${figures.duplicated}; ` +
				`behind at end ${figures.clientsBehindCommittedAtEnd}; writer retries ${figures.writerRetries}; ` +
				`writer jobs not exactly as acknowledged ${writerMismatch}; longest stall per client ` +
				`${JSON.stringify(figures.longestStallPerClientMs)}; longest wait of a committed value per client ` +
				`${JSON.stringify(figures.longestWaitOfACommittedValuePerClientMs)} (outside the freeze ` +
				`${JSON.stringify(figures.longestWaitOutsideFreezeMs)}); the longest waits by what the client was doing ` +
				`${JSON.stringify(stallCauses)}; gaps between points (outside the freeze ` +
				`${JSON.stringify(figures.longestStallPerClientOutsideFreezeMs)}); 5xx/failures ${JSON.stringify(figures.serverErrorsByCause)}`
		);
		if (figures.lost > 0 || figures.duplicated > 0 || writerMismatch > 0 || crashes.length > 0)
			throw new Error('chaos: values were lost or duplicated, or an instance crashed (see above)');
		return figures;
	} finally {
		stopping = true;
		writersStopping = true;
		for (const client of clients) client.request?.destroy();
		await Promise.all(servers.map((s) => s.kill()));
		forgetServers();
		await sql.end({ timeout: 5 });
		cluster.stop();
		forgetCluster();
	}
}
