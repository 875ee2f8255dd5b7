/**
 * Suite "write": how many points per second the simulator commits on real Postgres,
 * with ticks back to back, against the ceiling of a raw COPY of as many rows into the
 * same table. Then where a tick's time goes: the read of the running jobs, the commit
 * statement node by node (EXPLAIN ANALYZE, rolled back), and the statement with one
 * part at a time taken out.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, type CompiledQuery } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import { startPostgresCluster, type PostgresCluster } from '../tests/support/postgres-cluster';
import { openDatabase, type Db } from '../src/lib/server/db/index';
import type { Database } from '../src/lib/server/db/database';
import { migrateToLatest } from '../src/lib/server/db/migrate';
import { JobEvents } from '../src/lib/server/events/job-events';
import { createValidJob } from '../src/lib/server/jobs/jobs.service';
import { startJob } from '../src/lib/server/jobs/transitions';
import { Simulator } from '../src/lib/server/simulator/simulator';
import { commitTick, listRunningJobs, type RunningJob } from '../src/lib/server/simulator/simulator.repository';
import { planTick } from '../src/lib/server/simulator/plan';
import {
	CpuMeter,
	envNumber,
	MachineMeter,
	onAbort,
	postgresPids,
	printTable,
	round,
	SelfMeter,
	summarize,
	type Summary
} from './lib/measure';

const JOB_COUNTS = [100, 1_000];
const WINDOW_MS = envNumber('BENCH_WRITE_WINDOW_MS', 10_000);
/** The window is cut into rounds of ticks, each followed by a COPY of as many rows. */
const ROUNDS = 5;
const WARMUP_MS = 1_000;
const VARIANT_MS = envNumber('BENCH_WRITE_VARIANT_MS', 1_500);
const MAX_CALLS = 200_000; // a bound on every loop, far above what its time allows
const TARGET_POINTS_PER_S = 20_000;
const TARGET_RATIO = 0.5;

interface Rate {
	calls: number;
	pointsPerSecond: number;
	callMs: Summary;
	benchCpuPercent: number;
	postgresCpuPercent: number;
	/** CPU (bench + Postgres) per point: unlike rates, barely moved by other load on the machine. */
	cpuMicrosPerPoint: number;
}

export interface WriteFigures extends Rate {
	jobs: number;
	points: number;
	seconds: number;
	/** Busy CPU of the whole machine during the rounds, % of one core (200 = both cores). */
	machineCpuPercent: number;
	/** Of that, what neither the bench nor Postgres used: other work on the machine. */
	otherCpuPercent: number;
	copy: { rows: number; seconds: number; rowsPerSecond: number; cpuMicrosPerPoint: number };
	ratio: number;
	/** tick rate / COPY rate of each round: the spread shows how steady the machine was. */
	roundRatios: number[];
	/** COPY's CPU per row over the tick's CPU per point: the ratio, less moved by other load. */
	cpuRatio: number;
	listRunningJobs: { clientMs: Summary; serverMs: number };
	/** The running jobs without the lateral latest-step lookup: what a tick reads if it keeps last steps in memory. */
	runningJobsOnlyMs: Summary;
	commitStatement: {
		serverMs: number;
		planningMs: number;
		triggers: { name: string; ms: number; calls: number }[];
		/** Plan nodes by their own time (children excluded), largest first. */
		nodes: { node: string; ms: number }[];
	};
	/** The same points committed other ways, with the last steps kept in memory (no read per tick). */
	variants: Record<string, Rate>;
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<unknown>): Promise<void> {
	for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

async function createJobs(db: Db, events: JobEvents, count: number): Promise<string[]> {
	const ids: string[] = [];
	await inBatches(
		Array.from({ length: count }, (_, i) => i),
		10,
		async (i) => {
			const job = await createValidJob(db, events, {
				name: `bench ${i}`,
				baseModel: 'bert-base',
				dataset: 'imdb',
				epochs: 1000, // 100,000 steps: no job finishes during the run
				learningRate: 3e-4,
				batchSize: 32
			});
			ids.push(job.id);
		}
	);
	return ids;
}

/** Calls `call` back to back for `ms` and measures it; `call` returns the points it committed. */
interface Calls {
	durations: number[];
	points: number;
	seconds: number;
	benchCpuSeconds: number;
	postgresCpuSeconds: number;
}

/** Calls `call` back to back for `ms`; `call` returns the points it committed. */
async function calls(cluster: PostgresCluster, ms: number, call: () => Promise<number>): Promise<Calls> {
	const durations: number[] = [];
	const pg = new CpuMeter(() => postgresPids(cluster.dataDir));
	const self = new SelfMeter();
	let points = 0;
	pg.start();
	self.start();
	const started = performance.now();
	const end = started + ms;
	while (performance.now() < end && durations.length < MAX_CALLS) {
		const t = performance.now();
		points += await call();
		durations.push(performance.now() - t);
	}
	const seconds = (performance.now() - started) / 1000;
	return {
		durations,
		points,
		seconds,
		benchCpuSeconds: (self.stop() * seconds) / 100,
		postgresCpuSeconds: (pg.stop() * seconds) / 100
	};
}

function rateOf(runs: Calls[]): Rate & { points: number; seconds: number } {
	const durations = runs.flatMap((run) => run.durations);
	const points = runs.reduce((sum, run) => sum + run.points, 0);
	const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
	const bench = runs.reduce((sum, run) => sum + run.benchCpuSeconds, 0);
	const pg = runs.reduce((sum, run) => sum + run.postgresCpuSeconds, 0);
	return {
		calls: durations.length,
		points,
		seconds: round(seconds, 2),
		pointsPerSecond: Math.round(points / seconds),
		callMs: summarize(durations),
		benchCpuPercent: round((100 * bench) / seconds),
		postgresCpuPercent: round((100 * pg) / seconds),
		cpuMicrosPerPoint: round(((bench + pg) * 1e6) / points)
	};
}

const rate = async (cluster: PostgresCluster, ms: number, call: () => Promise<number>) =>
	rateOf([await calls(cluster, ms, call)]);

/** COPY of `steps` rows per job, steps `firstStep` onwards. */
async function copyRows(
	client: postgres.Sql,
	jobIds: string[],
	firstStep: number,
	steps: number
): Promise<{ rows: number; seconds: number }> {
	function* chunks(): Generator<string> {
		for (let step = firstStep; step < firstStep + steps; step++) {
			let chunk = '';
			for (const id of jobIds) chunk += `${id}\t${step}\t${Math.ceil(step / 100)}\t${(1 / step).toFixed(6)}\t0.5\n`;
			yield chunk;
		}
	}
	const started = performance.now();
	const writable = await client`copy metrics (job_id, step, epoch, loss, accuracy) from stdin`.writable();
	await pipeline(Readable.from(chunks()), writable);
	return { rows: jobIds.length * steps, seconds: (performance.now() - started) / 1000 };
}

class Rollback extends Error {}

interface PlanNode {
	'Node Type': string;
	'Relation Name'?: string;
	Output?: string[];
	'Actual Total Time': number;
	'Actual Loops': number;
	Plans?: PlanNode[];
}

function describeNode(node: PlanNode): string {
	const output = node.Output?.[0] ?? '';
	if (output.startsWith('json_agg(inserted.*')) return 'json_agg of the returned points';
	if (output.includes("json_build_object('i'")) return 'NOTIFY payloads (json_build_object)';
	if (node['Node Type'] === 'ModifyTable') return `insert into ${node['Relation Name']}`;
	if (node['Node Type'] === 'Function Scan') return 'unnest of the parameter arrays';
	return node['Relation Name'] ? `${node['Node Type']} on ${node['Relation Name']}` : node['Node Type'];
}

/** EXPLAIN ANALYZE of a statement inside a transaction that is rolled back, so nothing is written. */
async function explainRolledBack(client: postgres.Sql, text: string, params: readonly unknown[]) {
	let explained: Record<string, unknown> | undefined;
	try {
		await client.begin(async (tx) => {
			const rows = await tx.unsafe(`explain (analyze, verbose, format json) ${text}`, params as never[]);
			explained = ((rows[0] as Record<string, unknown>)['QUERY PLAN'] as Record<string, unknown>[])[0];
			throw new Rollback();
		});
	} catch (error) {
		if (!(error instanceof Rollback)) throw error;
	}
	const plan = explained!;
	const nodes: { node: string; ms: number }[] = [];
	const walk = (node: PlanNode, top: boolean) => {
		const children = node.Plans ?? [];
		const own =
			node['Actual Total Time'] * node['Actual Loops'] -
			children.reduce((sum, child) => sum + child['Actual Total Time'] * child['Actual Loops'], 0);
		// A CTE Scan's time includes running its CTE, which is listed on its own.
		if (!top && node['Node Type'] !== 'CTE Scan') {
			nodes.push({ node: describeNode(node), ms: round(Math.max(0, own), 2) });
		}
		for (const child of children) walk(child, false);
	};
	walk(plan.Plan as PlanNode, true);
	nodes.sort((a, b) => b.ms - a.ms);
	return {
		serverMs: round(plan['Execution Time'] as number, 2),
		planningMs: round(plan['Planning Time'] as number, 2),
		triggers: ((plan.Triggers ?? []) as { 'Trigger Name': string; Time: number; Calls: number }[]).map((t) => ({
			name: t['Trigger Name'],
			ms: round(t.Time, 2),
			calls: t.Calls
		})),
		nodes: nodes.slice(0, 6)
	};
}

/** The exact SQL and parameters commitTick sends, captured in a transaction that is rolled back. */
async function captureCommitTick(client: postgres.Sql, instanceId: string, jobs: RunningJob[]): Promise<CompiledQuery> {
	let captured: CompiledQuery | undefined;
	const capturing = new Kysely<Database>({
		dialect: new PostgresJSDialect({ postgres: client }),
		log: (event) => {
			// The transaction's begin and rollback are logged too.
			if (event.level === 'query' && event.query.sql.includes('insert into metrics')) captured = event.query;
		}
	});
	const { points, finishes } = planTick(jobs);
	try {
		await capturing.transaction().execute(async (trx) => {
			await commitTick(trx, instanceId, points, finishes);
			throw new Rollback();
		});
	} catch (error) {
		if (!(error instanceof Rollback)) throw error;
	}
	return captured!;
}

const LIST_RUNNING_SQL = `select jobs.id, seed, learning_rate, batch_size, steps_per_epoch, epochs, latest.step
	from jobs left join lateral (select metrics.step from metrics where metrics.job_id = jobs.id
	order by metrics.step desc limit 1) as latest on true where jobs.status = 'running'`;

function variantOf(statement: string, edits: [string, string][]): string {
	let result = statement;
	for (const [from, to] of edits) {
		if (!result.includes(from)) throw new Error(`bench statement variant: "${from}" not found`);
		result = result.replace(from, to);
	}
	return result;
}

/**
 * The bench's own copy of commitTick's statement (as of 76b006b): row locks, the insert,
 * the finished jobs, NOTIFY, and back only now(), the skipped ids and the finished jobs.
 * $1 the job ids (= the points' job ids), $2–$5 the points, $6 the instance,
 * $7–$9 the finishes. The variants below each take one part out, to price that part.
 */
const TICK_FULL_SQL = `with running as (
		select id from jobs where id = any($1::uuid[]) and status = 'running' for update
	),
	inserted as (
		insert into metrics (job_id, step, epoch, loss, accuracy)
		select u.job_id, u.step, u.epoch, u.loss, u.accuracy
		from unnest($1::uuid[], $2::integer[], $3::integer[], $4::double precision[], $5::double precision[])
			as u(job_id, step, epoch, loss, accuracy)
		where u.job_id in (select id from running)
		returning job_id, step
	),
	finished as (
		update jobs set status = f.status, error = f.error, finished_at = now()
		from unnest($7::uuid[], $8::text[], $9::text[]) as f(id, status, error)
		where jobs.id = f.id and jobs.id in (select id from running)
		returning jobs.id as job_id, jobs.status
	),
	point_chunks as (
		select json_build_object('i', $6::text, 'p', json_agg(json_build_array(job_id, step)))::text as payload
		from (select job_id, step, (row_number() over () - 1) / 100 as chunk from inserted) numbered
		group by chunk
	),
	status_chunks as (
		select json_build_object('i', $6::text, 's', json_agg(json_build_array(job_id, status)))::text as payload
		from (select job_id, status, (row_number() over () - 1) / 100 as chunk from finished) numbered
		group by chunk
	)
	select now() as recorded_at,
		array(select id from unnest($1::uuid[]) as id except select id from running)::text[] as skipped,
		(select json_agg(finished) from finished) as finished,
		(select count(pg_notify('vapor_events', payload))
			from (select payload from point_chunks union all select payload from status_chunks) chunks) as notified`;

/** As commitTick sends it: the job ids as three parameters ($1, $10, $11) rather than one. */
const TICK_FULL_THREE_IDS_SQL = variantOf(TICK_FULL_SQL, [
	[
		"where id = any($1::uuid[]) and status = 'running' for update",
		"where id = any($10::uuid[]) and status = 'running' for update"
	],
	['array(select id from unnest($1::uuid[]) as id', 'array(select id from unnest($11::uuid[]) as id']
]);

/** Without the finished-jobs parts: what a tick in which no job finishes needs. */
const TICK_SQL = `with running as (
		select id from jobs where id = any($1::uuid[]) and status = 'running' for update
	),
	inserted as (
		insert into metrics (job_id, step, epoch, loss, accuracy)
		select u.job_id, u.step, u.epoch, u.loss, u.accuracy
		from unnest($1::uuid[], $2::integer[], $3::integer[], $4::double precision[], $5::double precision[])
			as u(job_id, step, epoch, loss, accuracy)
		where u.job_id in (select id from running)
		returning job_id, step
	),
	point_chunks as (
		select json_build_object('i', $6::text, 'p', json_agg(json_build_array(job_id, step)))::text as payload
		from (select job_id, step, (row_number() over () - 1) / 100 as chunk from inserted) numbered
		group by chunk
	)
	select now() as recorded_at,
		array(select id from unnest($1::uuid[]) as id except select id from running)::text[] as skipped,
		(select count(pg_notify('vapor_events', payload)) from point_chunks) as notified`;

/**
 * A form commitTick could take, writable with Kysely's sql template (each array
 * interpolated once): the points unnested once in a CTE that the lock, the insert and the
 * skipped ids all read, and no finished-jobs parts (for the ticks in which none finishes).
 */
const SUGGESTED_TICK_SQL = `with u as materialized (
		select * from unnest($1::uuid[], $2::integer[], $3::integer[], $4::double precision[], $5::double precision[])
			as u(job_id, step, epoch, loss, accuracy)
	),
	running as (
		select id from jobs where id in (select job_id from u) and status = 'running' for update
	),
	inserted as (
		insert into metrics (job_id, step, epoch, loss, accuracy)
		select u.job_id, u.step, u.epoch, u.loss, u.accuracy from u
		where u.job_id in (select id from running)
		returning job_id, step
	),
	point_chunks as (
		select json_build_object('i', $6::text, 'p', json_agg(json_build_array(job_id, step)))::text as payload
		from (select job_id, step, (row_number() over () - 1) / 100 as chunk from inserted) numbered
		group by chunk
	)
	select now() as recorded_at,
		array(select job_id from u except select id from running)::text[] as skipped,
		(select count(pg_notify('vapor_events', payload)) from point_chunks) as notified`;

/**
 * Without the row locks. MATERIALIZED keeps the plan of the locking statement (a CTE
 * with FOR UPDATE is always materialized; inlined, the plan is several times slower).
 */
const TICK_UNLOCKED_SQL = variantOf(TICK_SQL, [
	['running as (', 'running as materialized ('],
	["and status = 'running' for update", "and status = 'running'"]
]);

/** Without NOTIFY: the payloads are still built, pg_notify is not called. */
const TICK_SILENT_SQL = variantOf(TICK_SQL, [["count(pg_notify('vapor_events', payload))", 'count(payload)']]);

const BARE_INSERT_SQL = `insert into metrics (job_id, step, epoch, loss, accuracy)
	select * from unnest($1::uuid[], $2::integer[], $3::integer[], $4::double precision[], $5::double precision[])`;

async function measure(cluster: PostgresCluster, admin: postgres.Sql, jobCount: number): Promise<WriteFigures> {
	const name = `bench_write_${jobCount}`;
	await admin.unsafe(`create database ${name}`);
	const url = cluster.url.replace(/\/postgres$/, `/${name}`);
	const handle = openDatabase({ kind: 'postgres', url });
	const raw = postgres(url, { max: 1, onnotice: () => {} });
	try {
		await migrateToLatest(handle.db);
		// An autovacuum of metrics starting in one window and not another moved COPY's rate
		// between 59k and 103k rows/s: keep it out of every window alike.
		for (const table of ['metrics', 'jobs']) await raw.unsafe(`alter table ${table} set (autovacuum_enabled = false)`);
		const events = new JobEvents();
		const jobIds = await createJobs(handle.db, events, jobCount);
		await inBatches(jobIds, 10, (id) => startJob(handle.db, events, id));
		// As many jobs again that never run: COPY writes their rows, into the same table and index.
		const copyJobIds = await createJobs(handle.db, events, jobCount);
		const simulator = new Simulator(handle.db, events, undefined, { stepMs: 1 });

		const warmupEnd = performance.now() + WARMUP_MS;
		for (let i = 0; i < MAX_CALLS && performance.now() < warmupEnd; i++) await simulator.tick();

		// Ticks and COPY take turns, so that both meet the same state of the machine and
		// the table: each round ticks for a while, then COPYs as many rows.
		const machine = new MachineMeter();
		const tickRuns: Calls[] = [];
		const copyRuns: { rows: number; seconds: number; cpuSeconds: number }[] = [];
		let copyStep = 1;
		machine.start();
		const roundsStarted = performance.now();
		for (let round = 0; round < ROUNDS; round++) {
			const run = await calls(cluster, WINDOW_MS / ROUNDS, async () => (await simulator.tick()).points);
			tickRuns.push(run);
			const copyPg = new CpuMeter(() => postgresPids(cluster.dataDir));
			const copySelf = new SelfMeter();
			copyPg.start();
			copySelf.start();
			const copied = await copyRows(raw, copyJobIds, copyStep, run.durations.length);
			copyStep += run.durations.length;
			copyRuns.push({ ...copied, cpuSeconds: ((copyPg.stop() + copySelf.stop()) * copied.seconds) / 100 });
		}
		const wallSeconds = (performance.now() - roundsStarted) / 1000;
		const machineCpuSeconds = (machine.stop() / 100) * wallSeconds;
		const ticks = rateOf(tickRuns);
		const copy = {
			rows: copyRuns.reduce((sum, r) => sum + r.rows, 0),
			seconds: copyRuns.reduce((sum, r) => sum + r.seconds, 0)
		};
		const copyRate = copy.rows / copy.seconds;
		const copyCpuMicrosPerPoint = (copyRuns.reduce((sum, r) => sum + r.cpuSeconds, 0) * 1e6) / copy.rows;
		const usedSeconds =
			tickRuns.reduce((sum, r) => sum + r.benchCpuSeconds + r.postgresCpuSeconds, 0) +
			copyRuns.reduce((sum, r) => sum + r.cpuSeconds, 0);
		const roundRatios = tickRuns.map((run, i) =>
			round(run.points / run.seconds / (copyRuns[i]!.rows / copyRuns[i]!.seconds), 3)
		);

		// Where a tick's time goes.
		const reads: number[] = [];
		const readEnd = performance.now() + 1_500;
		for (let i = 0; i < MAX_CALLS && performance.now() < readEnd; i++) {
			const t = performance.now();
			await listRunningJobs(handle.db);
			reads.push(performance.now() - t);
		}
		const listExplain = await explainRolledBack(raw, LIST_RUNNING_SQL, []);
		const plainReads: number[] = [];
		const plainEnd = performance.now() + 1_500;
		for (let i = 0; i < MAX_CALLS && performance.now() < plainEnd; i++) {
			const t = performance.now();
			await handle.db
				.selectFrom('jobs')
				.select(['id', 'seed', 'learning_rate', 'batch_size', 'steps_per_epoch', 'epochs'])
				.where('status', '=', 'running')
				.execute();
			plainReads.push(performance.now() - t);
		}
		const jobs = await listRunningJobs(handle.db);
		const captured = await captureCommitTick(raw, events.instanceId, jobs);
		const commitExplain = await explainRolledBack(raw, captured.sql, captured.parameters);

		// The same points committed other ways, the last steps kept in memory.
		const advance = (committed: number) => {
			if (committed !== jobs.length) throw new Error(`expected ${jobs.length} points, committed ${committed}`);
			for (const job of jobs) job.lastStep++;
			return committed;
		};
		const columns = () => {
			const { points } = planTick(jobs);
			return [
				points.map((p) => p.jobId),
				points.map((p) => p.step),
				points.map((p) => p.epoch),
				points.map((p) => p.loss),
				points.map((p) => p.accuracy)
			];
		};
		const variants: Record<string, Rate> = {};
		const strip = ({ points: _p, seconds: _s, ...r }: Rate & { points: number; seconds: number }): Rate => r;
		const viaSql =
			(statement: string, extra: unknown[] = []) =>
			async () => {
				// Prepared, as Kysely's queries through kysely-postgres-js are.
				const [row] = await raw.unsafe(statement, [...columns(), events.instanceId, ...extra] as never[], {
					prepare: true
				});
				return advance(jobs.length - (row!.skipped as string[]).length);
			};
		variants['commitTick (src, via Kysely), last steps in memory: the tick minus its once-a-second re-read'] = strip(
			await rate(cluster, VARIANT_MS, async () => {
				const { points, finishes } = planTick(jobs);
				return advance((await commitTick(handle.db, events.instanceId, points, finishes)).points.length);
			})
		);
		variants['the same statement sent by postgres.js directly (no Kysely, no commitTick JS)'] = strip(
			await rate(cluster, VARIANT_MS, viaSql(TICK_FULL_SQL, [[], [], []]))
		);
		variants['the same by postgres.js, job ids sent three times as commitTick does'] = strip(
			await rate(cluster, VARIANT_MS, async () => {
				const columnValues = columns();
				const ids = columnValues[0]!;
				const params = [...columnValues, events.instanceId, [], [], [], [...ids], [...ids]];
				const [row] = await raw.unsafe(TICK_FULL_THREE_IDS_SQL, params as never[], { prepare: true });
				return advance(jobs.length - (row!.skipped as string[]).length);
			})
		);
		variants['tick statement without the finished-jobs parts (no job finishes this tick)'] = strip(
			await rate(cluster, VARIANT_MS, viaSql(TICK_SQL))
		);
		variants['suggested: points unnested once in a CTE (ids sent once), no finish parts'] = strip(
			await rate(cluster, VARIANT_MS, viaSql(SUGGESTED_TICK_SQL))
		);
		variants['tick statement (no finish parts), arrays joined to {a,b,…} text in JS'] = strip(
			await rate(cluster, VARIANT_MS, async () => {
				const literals = columns().map(
					(column) => `{${column.map((value) => (value === null ? 'NULL' : value)).join(',')}}`
				);
				const [row] = await raw.unsafe(TICK_SQL, [...literals, events.instanceId] as never[], { prepare: true });
				return advance(jobs.length - (row!.skipped as string[]).length);
			})
		);
		variants['tick statement (no finish parts) without the row locks (FOR UPDATE)'] = strip(
			await rate(cluster, VARIANT_MS, viaSql(TICK_UNLOCKED_SQL))
		);
		variants['tick statement (no finish parts) without NOTIFY'] = strip(
			await rate(cluster, VARIANT_MS, viaSql(TICK_SILENT_SQL))
		);
		variants["per-tick COPY of the tick's rows (no locks, no NOTIFY)"] = strip(
			await rate(cluster, VARIANT_MS, async () => {
				const { points } = planTick(jobs);
				let text = '';
				for (const p of points) text += `${p.jobId}\t${p.step}\t${p.epoch}\t${p.loss}\t${p.accuracy ?? '\\N'}\n`;
				const writable = await raw`copy metrics (job_id, step, epoch, loss, accuracy) from stdin`.writable();
				await pipeline(Readable.from([text]), writable);
				return advance(points.length);
			})
		);
		variants['bare unnest insert (no locks, no NOTIFY, returns nothing)'] = strip(
			await rate(cluster, VARIANT_MS, async () => {
				const result = await raw.unsafe(BARE_INSERT_SQL, columns() as never[], { prepare: true });
				return advance(result.count);
			})
		);

		return {
			jobs: jobCount,
			...ticks,
			machineCpuPercent: round((100 * machineCpuSeconds) / wallSeconds),
			otherCpuPercent: round(Math.max(0, (100 * (machineCpuSeconds - usedSeconds)) / wallSeconds)),
			copy: {
				rows: copy.rows,
				seconds: round(copy.seconds, 3),
				rowsPerSecond: Math.round(copyRate),
				cpuMicrosPerPoint: round(copyCpuMicrosPerPoint)
			},
			ratio: round(ticks.pointsPerSecond / copyRate, 3),
			roundRatios,
			cpuRatio: round(copyCpuMicrosPerPoint / ticks.cpuMicrosPerPoint, 3),
			listRunningJobs: { clientMs: summarize(reads), serverMs: listExplain.serverMs },
			runningJobsOnlyMs: summarize(plainReads),
			commitStatement: commitExplain,
			variants
		};
	} finally {
		await raw.end();
		await handle.close();
	}
}

const met = (r: WriteFigures) => r.pointsPerSecond >= TARGET_POINTS_PER_S && r.ratio >= TARGET_RATIO;

export async function runWriteSuite() {
	const cluster = await startPostgresCluster();
	const forget = onAbort(() => cluster.stop());
	const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const results: WriteFigures[] = [];
	try {
		for (const jobCount of JOB_COUNTS) {
			console.log(`write: ${jobCount} running jobs, simulator.tick() back to back for ${WINDOW_MS / 1000} s …`);
			results.push(await measure(cluster, admin, jobCount));
		}
	} finally {
		await admin.end();
		cluster.stop();
		forget();
	}

	const ms = (value: number) => round(value, 2);
	console.log(
		`\nwrite: simulator.tick() back to back vs COPY of as many rows ` +
			`(targets: ≥ ${TARGET_POINTS_PER_S} points/s, ≥ ${TARGET_RATIO} of COPY)`
	);
	printTable(
		results.map((r) => ({
			jobs: r.jobs,
			ticks: r.calls,
			'points/s': r.pointsPerSecond,
			'tick p50 ms': ms(r.callMs.p50),
			'tick p99 ms': ms(r.callMs.p99),
			'COPY rows/s': r.copy.rowsPerSecond,
			'tick/COPY': r.ratio,
			'per round': `${Math.min(...r.roundRatios)}–${Math.max(...r.roundRatios)}`,
			'CPU µs/pt': r.cpuMicrosPerPoint,
			'COPY CPU µs/row': r.copy.cpuMicrosPerPoint,
			'CPU ratio': r.cpuRatio,
			'bench CPU %': r.benchCpuPercent,
			'postgres CPU %': r.postgresCpuPercent,
			'other CPU %': r.otherCpuPercent,
			target: met(r) ? 'met' : 'missed'
		}))
	);
	console.log('\nwrite: a tick taken apart (ms)');
	printTable(
		results.map((r) => ({
			jobs: r.jobs,
			'listRunningJobs (client; once a second)': ms(r.listRunningJobs.clientMs.mean),
			'(server)': r.listRunningJobs.serverMs,
			'running jobs, no lateral': ms(r.runningJobsOnlyMs.mean),
			'commit statement (server)': r.commitStatement.serverMs,
			'FK trigger': r.commitStatement.triggers.reduce((sum, t) => sum + t.ms, 0),
			...Object.fromEntries(r.commitStatement.nodes.slice(0, 3).map((n, i) => [`#${i + 1} node`, `${n.node}: ${n.ms}`]))
		}))
	);
	console.log('\nwrite: the same points committed other ways (each part of the statement priced by leaving it out)');
	printTable(
		results.flatMap((r) =>
			Object.entries(r.variants).map(([variant, v]) => ({
				jobs: r.jobs,
				variant,
				'points/s': v.pointsPerSecond,
				'p50 ms': ms(v.callMs.p50),
				'of COPY': round(v.pointsPerSecond / r.copy.rowsPerSecond, 2),
				'CPU µs/pt': v.cpuMicrosPerPoint,
				'CPU ratio': round(r.copy.cpuMicrosPerPoint / v.cpuMicrosPerPoint, 2),
				'bench CPU %': v.benchCpuPercent,
				'postgres CPU %': v.postgresCpuPercent
			}))
		)
	);

	const contended = results.filter((r) => r.otherCpuPercent > 25).map((r) => r.jobs);
	if (contended.length > 0)
		console.log(
			`\nwrite: other work used > 25 % CPU during the ${contended.join(' and ')}-job window; re-run on a quiet machine.`
		);
	return {
		contended,
		targets: { pointsPerSecond: TARGET_POINTS_PER_S, ratioOfCopy: TARGET_RATIO },
		windowMs: WINDOW_MS,
		met: results.every(met),
		results
	};
}
