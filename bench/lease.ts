/**
 * Suite "lease": what a shorter VAPOR_LEASE_MS costs, and what it buys (issue 17, item 7).
 *  - cost, in process on real Postgres, at 10, 100 and 1,000 running simulated jobs: one
 *    lease round's time (renewAndClaimLeases, the statement each instance runs every
 *    min(1 s, lease / 5)), the database time per second that makes, the job rows it
 *    rewrites per second, and the WAL bytes per second of the whole simulator loop (ticks
 *    and lease rounds) with the points it commits;
 *  - gain, with two built servers on one Postgres: SIGKILL one and measure, for each of
 *    its jobs, the gap between its last point before the kill and its first after (the
 *    survivor claims it once the lease has expired).
 */
import postgres from 'postgres';
import { startPostgresCluster, type PostgresCluster } from '../tests/support/postgres-cluster';
import { apiClient } from '../tests/support/api-client';
import { startServer, type RunningServer } from '../tests/support/server';
import { openDatabase, type Db } from '../src/lib/server/db/index';
import { migrateToLatest } from '../src/lib/server/db/migrate';
import { JobEvents } from '../src/lib/server/events/job-events';
import { createValidJob } from '../src/lib/server/jobs/jobs.service';
import { startJob } from '../src/lib/server/jobs/transitions';
import { renewAndClaimLeases } from '../src/lib/server/simulator/leases.repository';
import { Simulator } from '../src/lib/server/simulator/simulator';
import { ensureBuild } from './lib/build';
import { envNumber, envNumbers, onAbort, percentile, printTable, round, sleep } from './lib/measure';

const JOB_COUNTS = envNumbers('BENCH_LEASE_JOBS', [10, 100, 1_000], [5]);
const LEASES_MS = envNumbers('BENCH_LEASE_MS', [5_000, 2_000, 1_500, 1_000], [1_000]);
const WINDOW_MS = envNumber('BENCH_LEASE_WINDOW_MS', 5_000, 500);
const ROUNDS_TIMED = envNumber('BENCH_LEASE_ROUNDS', 30, 3);
const STALL_JOBS = envNumber('BENCH_LEASE_STALL_JOBS', 100, 4);
const STEP_MS = 200;

const refreshMs = (leaseMs: number) => Math.min(1_000, leaseMs / 5);

async function freshDatabase(admin: postgres.Sql, cluster: PostgresCluster, name: string) {
	await admin.unsafe(`drop database if exists ${name}`);
	await admin.unsafe(`create database ${name}`);
	const url = cluster.url.replace(/\/postgres$/, `/${name}`);
	const handle = openDatabase({ kind: 'postgres', url });
	await migrateToLatest(handle.db);
	return { handle, raw: postgres(url, { max: 1, onnotice: () => {} }) };
}

async function runningJobs(db: Db, events: JobEvents, count: number): Promise<void> {
	for (let i = 0; i < count; i += 10) {
		await Promise.all(
			Array.from({ length: Math.min(10, count - i) }, async (_, k) => {
				const job = await createValidJob(db, events, {
					source: 'simulated',
					name: `lease bench ${i + k}`,
					baseModel: 'bert-base',
					dataset: 'imdb',
					epochs: 1000,
					stepsPerEpoch: 100,
					learningRate: 3e-4,
					batchSize: 32,
					primaryMetric: 'loss'
				});
				await startJob(db, events, job.id);
			})
		);
	}
}

interface Cost {
	jobs: number;
	leaseMs: number;
	roundMs: { p50: number; p95: number };
	/** Database time spent on lease rounds, per second of wall time (1 = one core). */
	leaseDbShare: number;
	walBytesPerSecond: number;
	/** Rows the lease rounds rewrite per second: every held job, every round (by construction). */
	leaseRowWritesPerSecond: number;
	pointsPerSecond: number;
}

async function counters(raw: postgres.Sql) {
	const [row] = await raw<{ wal: string; points: string }[]>`
		select pg_current_wal_lsn()::text as wal, (select count(*) from metric_rows)::text as points`;
	const [high, low] = row!.wal.split('/').map((part) => parseInt(part, 16));
	return { wal: high! * 2 ** 32 + low!, points: Number(row!.points) };
}

async function measureCost(cluster: PostgresCluster, admin: postgres.Sql, jobs: number): Promise<Cost[]> {
	const { handle, raw } = await freshDatabase(admin, cluster, `bench_lease_${jobs}`);
	try {
		const events = new JobEvents('bench-a');
		await runningJobs(handle.db, events, jobs);
		// Warm-up: the first claim and the first ticks of many jobs (plans, keys interned) are slow.
		const warmUp = new Simulator(handle.background, events, undefined, { stepMs: STEP_MS });
		for (let i = 0; i < 3; i++) await warmUp.tick();
		const results: Cost[] = [];
		for (const leaseMs of LEASES_MS) {
			// One round's time, held jobs renewed (the steady state).
			await renewAndClaimLeases(handle.background, 'bench-a', leaseMs);
			const times: number[] = [];
			for (let i = 0; i < ROUNDS_TIMED; i++) {
				const started = performance.now();
				await renewAndClaimLeases(handle.background, 'bench-a', leaseMs);
				times.push(performance.now() - started);
			}
			times.sort((a, b) => a - b);
			// The loop as a server runs it: ticks every 200 ms and lease rounds every refreshMs.
			const simulator = new Simulator(handle.background, events, undefined, { stepMs: STEP_MS, leaseMs });
			simulator.start();
			await sleep(1_000);
			const before = await counters(raw);
			const started = performance.now();
			await sleep(WINDOW_MS);
			const after = await counters(raw);
			const seconds = (performance.now() - started) / 1000;
			await simulator.stop();
			const p50 = percentile(times, 50);
			results.push({
				jobs,
				leaseMs,
				roundMs: { p50: round(p50, 2), p95: round(percentile(times, 95), 2) },
				leaseDbShare: round(p50 / refreshMs(leaseMs), 3),
				walBytesPerSecond: Math.round((after.wal - before.wal) / seconds),
				leaseRowWritesPerSecond: Math.round((jobs * 1000) / refreshMs(leaseMs)),
				pointsPerSecond: Math.round((after.points - before.points) / seconds)
			});
		}
		return results;
	} finally {
		await raw.end();
		await handle.close();
	}
}

interface Stall {
	leaseMs: number;
	killedJobs: number;
	stallMs: { p50: number; max: number };
}

/** Two servers share the jobs; one is SIGKILLed; each of its jobs waits for the lease to expire. */
async function measureStall(cluster: PostgresCluster, admin: postgres.Sql, leaseMs: number): Promise<Stall> {
	const name = `bench_stall_${leaseMs}`;
	await admin.unsafe(`drop database if exists ${name}`);
	await admin.unsafe(`create database ${name}`);
	const url = cluster.url.replace(/\/postgres$/, `/${name}`);
	const raw = postgres(url, { max: 2, onnotice: () => {} });
	const env = { DATABASE_URL: url, VAPOR_LEASE_MS: String(leaseMs), VAPOR_SIM_STEP_MS: String(STEP_MS) };
	const servers: RunningServer[] = [];
	const forget = onAbort(() => Promise.all(servers.map((server) => server.kill())));
	try {
		servers.push(await startServer(env));
		servers.push(await startServer(env));
		const [a, b] = servers as [RunningServer, RunningServer];
		const api = apiClient(b.url);
		for (let i = 0; i < STALL_JOBS; i++)
			await api.start((await api.createJob({ name: `stall ${i}`, epochs: 1000 })).id);
		// Both hold their share (the second claims once it has seen the first's heartbeat).
		const held = async () =>
			raw<{ owner: string; jobs: number }[]>`
				select lease_owner as owner, count(*)::int as jobs from jobs
				where status = 'running' and lease_owner is not null group by lease_owner`;
		for (let tries = 0; ; tries++) {
			const owners = await held();
			if (owners.length === 2 && owners.every((o) => o.jobs >= Math.floor(STALL_JOBS / 2))) break;
			if (tries > 200) throw new Error(`the two servers never shared the jobs: ${JSON.stringify(owners)}`);
			await sleep(100);
		}
		await sleep(2 * STEP_MS);
		const killedJobs = (await raw<{ id: string }[]>`select id from jobs where lease_owner like ${`%:${a.port}`}`).map(
			(row) => row.id
		);
		await a.kill();
		const killedAt = new Date();
		await sleep(leaseMs + 3_000);
		const gaps = await raw<{ gap_ms: number | null }[]>`
			select extract(epoch from (
				(select min(recorded_at) from metric_rows m where m.job_id = j.id and m.recorded_at > ${killedAt})
				- (select max(recorded_at) from metric_rows m where m.job_id = j.id and m.recorded_at <= ${killedAt})
			)) * 1000 as gap_ms
			from jobs j where j.id = any(${killedJobs}::uuid[])`;
		const values = gaps.map((g) => Number(g.gap_ms ?? Infinity)).sort((x, y) => x - y);
		return {
			leaseMs,
			killedJobs: killedJobs.length,
			stallMs: { p50: Math.round(percentile(values, 50)), max: Math.round(values.at(-1)!) }
		};
	} finally {
		await Promise.all(servers.map((server) => server.kill()));
		forget();
		await raw.end();
	}
}

export async function runLeaseSuite() {
	ensureBuild();
	const cluster = await startPostgresCluster();
	const forget = onAbort(() => cluster.stop());
	const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const costs: Cost[] = [];
	const stalls: Stall[] = [];
	try {
		for (const jobs of JOB_COUNTS) {
			console.log(`lease: ${jobs} running jobs, leases of ${LEASES_MS.join(', ')} ms …`);
			costs.push(...(await measureCost(cluster, admin, jobs)));
		}
		for (const leaseMs of LEASES_MS) {
			console.log(`lease: SIGKILL one of two servers, ${STALL_JOBS} jobs, lease ${leaseMs} ms …`);
			stalls.push(await measureStall(cluster, admin, leaseMs));
		}
	} finally {
		await admin.end();
		cluster.stop();
		forget();
	}
	printTable(
		costs.map((c) => ({
			jobs: c.jobs,
			'lease ms': c.leaseMs,
			'round ms p50/p95': `${c.roundMs.p50} / ${c.roundMs.p95}`,
			'lease DB share': c.leaseDbShare,
			'WAL KB/s': round(c.walBytesPerSecond / 1024),
			'lease row writes/s': c.leaseRowWritesPerSecond,
			'points/s': c.pointsPerSecond
		}))
	);
	printTable(
		stalls.map((s) => ({
			'lease ms': s.leaseMs,
			'jobs of the killed server': s.killedJobs,
			'stall ms p50': s.stallMs.p50,
			'stall ms max': s.stallMs.max
		}))
	);
	return { windowMs: WINDOW_MS, stepMs: STEP_MS, costs, stalls };
}
