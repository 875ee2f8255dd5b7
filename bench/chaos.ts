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
import http from 'node:http';
import postgres from 'postgres';
import { postgresProcesses, startPostgresCluster } from '../tests/support/postgres-cluster';
import { authorization, BENCH_READS, startServer, type RunningServer } from '../tests/support/server';
import { SseParser } from '../src/lib/training/sse';
import { ensureBuild } from './lib/build';
import { envNumber, memoryMiB, onAbort, percentile, printTable, round, sleep, smokeOr } from './lib/measure';

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

const random = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;

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
	const url = `${pick(urls())}/api/training/jobs/${client.jobId}/stream`;
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
		if (status >= 500) causes.add(`stream ${status}`);
		if (status !== 200) {
			response.resume();
			response.on('end', reconnect);
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
				for (const { step } of JSON.parse(event.data) as { step: number }[]) {
					client.points++;
					if (step <= client.lastStep) client.duplicated++;
					else {
						client.lost += step - client.lastStep - 1;
						client.lastStep = step;
					}
				}
			}
		});
		response.on('end', reconnect);
		response.on('error', reconnect);
	});
	request.on('error', (error: NodeJS.ErrnoException) => {
		if (!stopped()) causes.add(`stream connect ${error.code ?? error.message}`);
		reconnect();
	});
	// The bench cuts every connection at a random moment, as flaky networks do.
	const cut = setTimeout(
		() => {
			client.cuts++;
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
				stalls: []
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
		const samples: { atS: number; rssMiB: number[] }[] = [];
		let nextSample = SAMPLE_MS;
		const crashes: { atS: number; exit: string; output: string }[] = [];
		const sample = async () => {
			// An instance that exited on its own is a finding: recorded with its last words, then restarted.
			for (const [index, server] of servers.entries()) {
				const { exitCode, signalCode } = server.process;
				if (exitCode === null && signalCode === null) continue;
				const output = server.output().split('\n').slice(-15).join('\n');
				crashes.push({ atS: Math.round((Date.now() - started) / 1000), exit: String(exitCode ?? signalCode), output });
				console.log(`  an instance exited by itself (${exitCode ?? signalCode}):\n${output}`);
				servers[index] = await startServer(env, { port: server.port });
			}
			const rssMiB = servers.map((s) => round(memoryMiB(s.process.pid!).rss));
			samples.push({ atS: Math.round((Date.now() - started) / 1000), rssMiB });
			const points = clients.reduce((sum, c) => sum + c.points, 0);
			console.log(`  ${samples.at(-1)!.atS} s: RSS ${rssMiB.join(' / ')} MiB, ${points} points delivered`);
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
					servers[index] = await startServer(env, { port: victim.port });
				} else if (fault.kind === 'postgres restart') {
					cluster.restart();
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
				`${JSON.stringify(figures.longestStallPerClientMs)} (outside the freeze ` +
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
