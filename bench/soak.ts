/**
 * Suite "soak": two instances of the built server on one real Postgres, 50 running jobs
 * shared out by leases, 500 stream clients spread over both instances, for
 * BENCH_SOAK_MINUTES (10). Every 10 s it samples each instance's RSS; at the end it
 * checks every client's steps (none lost, none twice) and counts 5xx answers.
 */
import http from 'node:http';
import postgres from 'postgres';
import { startPostgresCluster } from '../tests/support/postgres-cluster';
import { authorization, startServer, type RunningServer, BENCH_READS } from '../tests/support/server';
import { SseParser } from '../src/lib/training/sse';
import { ensureBuild } from './lib/build';
import { envNumber, memoryMiB, onAbort, printTable, round, sleep, smokeOr } from './lib/measure';

const MINUTES = envNumber('BENCH_SOAK_MINUTES', 10);
/** A smoke run lasts seconds, not minutes. */
const DURATION_MS = smokeOr(MINUTES * 60_000, 3_000);
const JOBS = envNumber('BENCH_SOAK_JOBS', 50, 4);
const CLIENTS = envNumber('BENCH_SOAK_CLIENTS', 500, 10);
const STEP_MS = 200;
const SAMPLE_MS = smokeOr(10_000, 1_000);
/** Samples before this are warm-up: V8 grows its heap to its working size first. */
const WARM_UP_MS = smokeOr(60_000, 1_000);

interface Client {
	server: number;
	jobId: string;
	lastStep: number;
	lastEventId: string;
	points: number;
	lost: number;
	duplicated: number;
	connects: number;
	serverErrors: number;
	request?: http.ClientRequest;
}

async function post(url: string): Promise<unknown> {
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...authorization() }
	});
	if (!response.ok) throw new Error(`POST ${url} → ${response.status}`);
	return response.json();
}

/** Follows one job's stream like a browser's EventSource: reconnects by Last-Event-ID. */
function follow(client: Client, servers: RunningServer[], stopped: () => boolean): void {
	if (stopped()) return;
	client.connects++;
	const url = `${servers[client.server]!.url}/api/training/jobs/${client.jobId}/stream`;
	const headers: Record<string, string> = { accept: 'text/event-stream' };
	if (client.lastEventId) headers['last-event-id'] = client.lastEventId;
	const reconnect = () => {
		client.request = undefined;
		if (!stopped()) setTimeout(() => follow(client, servers, stopped), 1_000);
	};
	const request = http.get(url, { headers, agent: false }, (response) => {
		if ((response.statusCode ?? 0) >= 500) client.serverErrors++;
		if (response.statusCode !== 200) {
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
		response.on('error', () => {});
	});
	request.on('error', reconnect);
	client.request = request;
}

/** Least-squares slope of RSS over time after warm-up, in MiB per minute. */
function slopePerMinute(samples: { atMs: number; rss: number }[]): number {
	const points = samples.filter((s) => s.atMs >= WARM_UP_MS);
	if (points.length < 2) return Number.NaN;
	const n = points.length;
	const meanX = points.reduce((sum, p) => sum + p.atMs, 0) / n;
	const meanY = points.reduce((sum, p) => sum + p.rss, 0) / n;
	const num = points.reduce((sum, p) => sum + (p.atMs - meanX) * (p.rss - meanY), 0);
	const den = points.reduce((sum, p) => sum + (p.atMs - meanX) ** 2, 0);
	return (num / den) * 60_000;
}

export async function runSoakSuite() {
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
	const servers = await Promise.all([startServer(env), startServer(env)]);
	const forgetServers = onAbort(() => Promise.all(servers.map((s) => s.kill())));
	const clients: Client[] = [];
	let stopping = false;
	try {
		const jobIds: string[] = [];
		for (let n = 0; n < JOBS; n++) {
			const { job } = await (
				await fetch(`${servers[n % 2]!.url}/api/training/jobs`, {
					method: 'POST',
					headers: { 'content-type': 'application/json', ...authorization() },
					body: JSON.stringify({
						name: `soak ${n + 1}`,
						baseModel: 'bert-base',
						dataset: 'imdb',
						epochs: 1000,
						learningRate: 3e-4,
						batchSize: 32
					})
				})
			).json();
			await post(`${servers[(n + 1) % 2]!.url}/api/training/jobs/${job.id}/start`);
			jobIds.push(job.id);
		}
		for (let n = 0; n < CLIENTS; n++) {
			const client: Client = {
				server: n % 2,
				jobId: jobIds[n % JOBS]!,
				lastStep: 0,
				lastEventId: '',
				points: 0,
				lost: 0,
				duplicated: 0,
				connects: 0,
				serverErrors: 0
			};
			clients.push(client);
			follow(client, servers, () => stopping);
		}

		console.log(
			`soak: ${JOBS} jobs, ${CLIENTS} clients over 2 instances, ${DURATION_MS / 1000} s; RSS every ${SAMPLE_MS / 1000} s …`
		);
		const started = Date.now();
		const samples: { atMs: number; rss: [number, number] }[] = [];
		while (Date.now() - started < DURATION_MS) {
			await sleep(SAMPLE_MS);
			const rss = servers.map((s) => round(memoryMiB(s.process.pid!).rss)) as [number, number];
			samples.push({ atMs: Date.now() - started, rss });
			const points = clients.reduce((sum, c) => sum + c.points, 0);
			console.log(
				`  ${Math.round((Date.now() - started) / 1000)} s: RSS ${rss.join(' / ')} MiB, ${points} points delivered`
			);
		}
		stopping = true;
		for (const client of clients) client.request?.destroy();

		// What each client should have: every step of its job from 1 to the last it saw.
		const owners = await sql<{ lease_owner: string | null; n: number }[]>`
			select lease_owner, count(*)::int as n from jobs where status = 'running' group by lease_owner order by lease_owner`;
		const lastStored = new Map(
			(
				await sql<{ job_id: string; last: number }[]>`select job_id, max(step) as last from metric_rows group by job_id`
			).map((r) => [r.job_id, r.last])
		);
		const lost = clients.reduce((sum, c) => sum + c.lost, 0);
		const duplicated = clients.reduce((sum, c) => sum + c.duplicated, 0);
		const serverErrors = clients.reduce((sum, c) => sum + c.serverErrors, 0);
		const behind = clients.map((c) => (lastStored.get(c.jobId) ?? 0) - c.lastStep);
		const rssOf = (i: 0 | 1) => samples.map((s) => ({ atMs: s.atMs, rss: s.rss[i] }));
		const figures = {
			minutes: MINUTES,
			jobs: JOBS,
			clients: CLIENTS,
			stepMs: STEP_MS,
			jobsPerInstance: owners.map((o) => ({ instance: o.lease_owner, jobs: o.n })),
			pointsDelivered: clients.reduce((sum, c) => sum + c.points, 0),
			lost,
			duplicated,
			serverErrors,
			reconnects: clients.reduce((sum, c) => sum + c.connects - 1, 0),
			stepsBehindAtEnd: {
				max: Math.max(...behind),
				median: behind.sort((x, y) => x - y)[Math.floor(behind.length / 2)]
			},
			rssMiB: [0, 1].map((i) => ({
				first: samples[0]?.rss[i],
				afterWarmUp: samples.find((s) => s.atMs >= WARM_UP_MS)?.rss[i],
				last: samples.at(-1)?.rss[i],
				max: Math.max(...samples.map((s) => s.rss[i as 0 | 1])),
				slopeAfterWarmUpMiBPerMin: round(slopePerMinute(rssOf(i as 0 | 1)), 2)
			})),
			samples
		};
		printTable(
			figures.rssMiB.map((r, i) => ({
				instance: i === 0 ? 'A' : 'B',
				'RSS first': r.first ?? '',
				'after warm-up': r.afterWarmUp ?? '',
				last: r.last ?? '',
				max: r.max,
				'MiB/min after warm-up': r.slopeAfterWarmUpMiBPerMin
			}))
		);
		console.log(
			`points delivered ${figures.pointsDelivered}; lost ${lost}; duplicated ${duplicated}; ` +
				`5xx ${serverErrors}; jobs per instance ${JSON.stringify(figures.jobsPerInstance)}`
		);
		return figures;
	} finally {
		stopping = true;
		for (const client of clients) client.request?.destroy();
		await Promise.all(servers.map((s) => s.stop()));
		forgetServers();
		await sql.end({ timeout: 5 });
		cluster.stop();
		forgetCluster();
	}
}
