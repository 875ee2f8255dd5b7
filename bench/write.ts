/**
 * Suite "write": how fast the one write path (src/lib/server/metrics/metrics.writer.ts)
 * commits, on real Postgres, against a raw COPY of the same rows into the same table in
 * the same run, rounds taking turns so that both meet the same machine:
 *  - tick: Simulator.tick() back to back with N running multi-metric jobs (7 keys a step,
 *    9 every 100th), one statement per tick;
 *  - ingest: ingestPoints() (validation + the commit statement, in process, no HTTP) of
 *    requests of 500 steps × 20 keys = 10,000 values.
 * And the bytes each stored value costs on disk (table + indexes + TOAST). The keys'
 * summaries are not updated by the write statement but folded in afterwards
 * (metric-key-summaries.repository); that time is reported beside each ratio.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { startPostgresCluster, type PostgresCluster } from '../tests/support/postgres-cluster';
import { openDatabase, type Db } from '../src/lib/server/db/index';
import { migrateToLatest } from '../src/lib/server/db/migrate';
import { JobEvents } from '../src/lib/server/events/job-events';
import { ingestPoints } from '../src/lib/server/ingest/ingest.service';
import { createValidJob } from '../src/lib/server/jobs/jobs.service';
import { startJob } from '../src/lib/server/jobs/transitions';
import { summarizeKeys } from '../src/lib/server/metrics/metric-key-summaries.repository';
import { Simulator } from '../src/lib/server/simulator/simulator';
import { simulatedStep } from '../src/lib/training/simulated-metrics';
import {
	CpuMeter,
	envNumber,
	envNumbers,
	MachineMeter,
	onAbort,
	postgresPids,
	printTable,
	round,
	SelfMeter,
	smokeOr
} from './lib/measure';

const JOB_COUNTS = envNumbers('BENCH_WRITE_JOBS', [100, 1_000], [5]);
const WINDOW_MS = envNumber('BENCH_WRITE_WINDOW_MS', 6_000, 300);
const ROUNDS = smokeOr(3, 1);
const INGEST_KEYS = 20;
const INGEST_STEPS_PER_REQUEST = 500;

interface Versus {
	values: number;
	valuesPerSecond: number;
	copyValuesPerSecond: number;
	ratio: number;
	roundRatios: number[];
	/**
	 * The work the write statement leaves for later (summarizeKeys: the keys' summaries
	 * brought up to date, as BlockRollups does in the background), timed after the rounds,
	 * and the ratio with that time added to the writer's.
	 */
	deferred: { seconds: number; ratioWithDeferred: number };
	/** % of one core over the rounds (writer and COPY): Postgres, this process, and other work on the machine. */
	cpuPercent: CpuSplit;
}

interface CpuSplit {
	postgres: number;
	bench: number;
	machine: number;
	other: number;
}

/** CPU of Postgres, of this process and of the whole machine over a window: the rest is other work. */
function cpuSplit(cluster: PostgresCluster) {
	const pg = new CpuMeter(() => postgresPids(cluster.dataDir));
	const self = new SelfMeter();
	const machine = new MachineMeter();
	pg.start();
	self.start();
	machine.start();
	return (): CpuSplit => {
		const split = { postgres: round(pg.stop()), bench: round(self.stop()), machine: round(machine.stop()) };
		return { ...split, other: round(Math.max(0, split.machine - split.postgres - split.bench)) };
	};
}

/** Folds every job's new rows into its keys' summaries, as the server does off the write path. */
async function timeDeferred(db: Db, jobIds: readonly string[]): Promise<number> {
	const started = performance.now();
	for (const id of jobIds) await summarizeKeys(db, id);
	return (performance.now() - started) / 1000;
}

/** COPY of rows (job, position, step, epoch, keys, vals) as text: what the writer's statement stores. */
async function copyRows(client: postgres.Sql, lines: Iterable<string>): Promise<number> {
	const started = performance.now();
	const writable = await client`copy metric_rows (job_id, position, step, epoch, keys, vals) from stdin`.writable();
	await pipeline(Readable.from(lines), writable);
	return (performance.now() - started) / 1000;
}

async function freshDatabase(admin: postgres.Sql, cluster: PostgresCluster, name: string) {
	await admin.unsafe(`drop database if exists ${name}`);
	await admin.unsafe(`create database ${name}`);
	const url = cluster.url.replace(/\/postgres$/, `/${name}`);
	// Long deadlines: the fold of a whole window's rows at the end is one statement (the server folds every 256 rows).
	const handle = openDatabase({ kind: 'postgres', url }, { requestTimeoutMs: 300_000 });
	const raw = postgres(url, { max: 1, onnotice: () => {} });
	await migrateToLatest(handle.db);
	// An autovacuum in one window and not another moves COPY's rate: keep it out of all alike.
	for (const table of ['metric_rows', 'metric_keys', 'jobs'])
		await raw.unsafe(`alter table ${table} set (autovacuum_enabled = false)`);
	return { handle, raw };
}

async function createJobs(db: Db, events: JobEvents, count: number, source: 'simulated' | 'external') {
	const ids: string[] = [];
	for (let i = 0; i < count; i += 10) {
		const batch = await Promise.all(
			Array.from({ length: Math.min(10, count - i) }, (_, k) =>
				createValidJob(db, events, {
					source,
					name: `bench ${i + k}`,
					baseModel: 'bert-base',
					dataset: 'imdb',
					epochs: 1000, // 100,000 steps: nothing finishes during the run
					stepsPerEpoch: 100,
					learningRate: 3e-4,
					batchSize: 32,
					primaryMetric: 'train/loss'
				})
			)
		);
		ids.push(...batch.map((job) => job.id));
	}
	return ids;
}

const literal = (values: readonly number[]) => `{${values.join(',')}}`;

async function measureTick(cluster: PostgresCluster, admin: postgres.Sql, jobCount: number) {
	const { handle, raw } = await freshDatabase(admin, cluster, `bench_tick_${jobCount}`);
	try {
		const events = new JobEvents();
		const jobIds = await createJobs(handle.db, events, jobCount, 'simulated');
		for (const id of jobIds) await startJob(handle.db, events, id);
		const copyJobIds = await createJobs(handle.db, events, jobCount, 'external');
		const simulator = new Simulator(handle.db, events, undefined, { stepMs: 1 });
		for (let i = 0; i < 5; i++) await simulator.tick(); // warm-up: plans, keys interned
		const config = { seed: 1, learningRate: 3e-4, batchSize: 32, stepsPerEpoch: 100, totalSteps: 100_000 };
		let copyStep = 1;
		let tickStep = 5;
		let tickValues = 0;
		let tickSeconds = 0;
		let copyValues = 0;
		let copySeconds = 0;
		const roundRatios: number[] = [];
		const cpu = cpuSplit(cluster);
		for (let r = 0; r < ROUNDS; r++) {
			let values = 0;
			let ticks = 0;
			const started = performance.now();
			while (performance.now() - started < WINDOW_MS / ROUNDS) {
				const summary = await simulator.tick();
				ticks++;
				tickStep++;
				values += summary.points * Object.keys(simulatedStep(config, tickStep).values).length;
			}
			const seconds = (performance.now() - started) / 1000;
			// The same number of rows, of the same keys and values, by COPY.
			const lines = function* () {
				for (let step = copyStep; step < copyStep + ticks; step++) {
					const { epoch, values: row } = simulatedStep(config, step);
					const vals = Object.values(row);
					const keys = literal(vals.map((_, k) => k));
					let chunk = '';
					for (const id of copyJobIds) chunk += `${id}\t${step}\t${step}\t${epoch}\t${keys}\t${literal(vals)}\n`;
					yield chunk;
				}
			};
			let copied = 0;
			for (let step = copyStep; step < copyStep + ticks; step++)
				copied += Object.keys(simulatedStep(config, step).values).length;
			copied *= copyJobIds.length;
			const copyTime = await copyRows(raw, lines());
			copyStep += ticks;
			tickValues += values;
			tickSeconds += seconds;
			copyValues += copied;
			copySeconds += copyTime;
			roundRatios.push(round(values / seconds / (copied / copyTime), 3));
		}
		const cpuPercent = cpu();
		const valuesPerSecond = Math.round(tickValues / tickSeconds);
		const copyValuesPerSecond = Math.round(copyValues / copySeconds);
		const deferredSeconds = await timeDeferred(handle.db, jobIds);
		return {
			values: tickValues,
			valuesPerSecond,
			copyValuesPerSecond,
			ratio: round(valuesPerSecond / copyValuesPerSecond, 3),
			roundRatios,
			deferred: {
				seconds: round(deferredSeconds, 3),
				ratioWithDeferred: round(tickValues / (tickSeconds + deferredSeconds) / copyValuesPerSecond, 3)
			},
			cpuPercent
		} satisfies Versus;
	} finally {
		await raw.end();
		await handle.close();
	}
}

async function measureIngest(cluster: PostgresCluster, admin: postgres.Sql) {
	const { handle, raw } = await freshDatabase(admin, cluster, 'bench_ingest');
	try {
		const events = new JobEvents();
		const [jobId, copyJobId] = await createJobs(handle.db, events, 2, 'external');
		const keys = Array.from({ length: INGEST_KEYS }, (_, k) => (k === 0 ? 'train/loss' : `metric/${k}`));
		const body = (from: number) =>
			JSON.parse(
				JSON.stringify(
					Array.from({ length: INGEST_STEPS_PER_REQUEST }, (_, i) => ({
						step: from + i,
						metrics: Object.fromEntries(keys.map((key, k) => [key, 1 / (from + i) + k * 1e-3]))
					}))
				)
			);
		await ingestPoints(handle.db, events, undefined, jobId!, body(1)); // warm-up
		let step = INGEST_STEPS_PER_REQUEST + 1;
		let copyStep = 1;
		let copyPosition = 0;
		let values = 0;
		let seconds = 0;
		let copyValues = 0;
		let copySeconds = 0;
		const roundRatios: number[] = [];
		const cpu = cpuSplit(cluster);
		for (let r = 0; r < ROUNDS; r++) {
			let roundValues = 0;
			let requests = 0;
			let roundSeconds = 0;
			const started = performance.now();
			while (performance.now() - started < WINDOW_MS / ROUNDS) {
				// The request's body as the server has it after JSON.parse: built outside the timing.
				const request = body(step);
				const sent = performance.now();
				const result = await ingestPoints(handle.db, events, undefined, jobId!, request);
				roundSeconds += (performance.now() - sent) / 1000;
				roundValues += result.accepted;
				step += INGEST_STEPS_PER_REQUEST;
				requests++;
			}
			const rows = requests * INGEST_STEPS_PER_REQUEST;
			const keyNos = literal(keys.map((_, k) => k));
			const lines = function* () {
				for (let s = copyStep; s < copyStep + rows; s += 100) {
					let chunk = '';
					for (let t = s; t < Math.min(s + 100, copyStep + rows); t++) {
						copyPosition++;
						chunk += `${copyJobId}\t${copyPosition}\t${t}\t${Math.ceil(t / 100)}\t${keyNos}\t${literal(keys.map((_, k) => 1 / t + k * 1e-3))}\n`;
					}
					yield chunk;
				}
			};
			const copyTime = await copyRows(raw, lines());
			copyStep += rows;
			values += roundValues;
			seconds += roundSeconds;
			copyValues += rows * INGEST_KEYS;
			copySeconds += copyTime;
			roundRatios.push(round(roundValues / roundSeconds / ((rows * INGEST_KEYS) / copyTime), 3));
		}
		const cpuPercent = cpu();
		const deferredSeconds = await timeDeferred(handle.db, [jobId!]);
		await raw`vacuum analyze metric_rows`;
		const [size] = await raw<{ bytes: string; values: string }[]>`
			select pg_total_relation_size('metric_rows')::text as bytes,
				(select sum(cardinality(keys)) from metric_rows)::text as values`;
		const valuesPerSecond = Math.round(values / seconds);
		const copyValuesPerSecond = Math.round(copyValues / copySeconds);
		return {
			versus: {
				values,
				valuesPerSecond,
				copyValuesPerSecond,
				ratio: round(valuesPerSecond / copyValuesPerSecond, 3),
				roundRatios,
				deferred: {
					seconds: round(deferredSeconds, 3),
					ratioWithDeferred: round(values / (seconds + deferredSeconds) / copyValuesPerSecond, 3)
				},
				cpuPercent
			} satisfies Versus,
			storage: {
				values: Number(size!.values),
				bytes: Number(size!.bytes),
				bytesPerValue: round(Number(size!.bytes) / Number(size!.values), 1)
			}
		};
	} finally {
		await raw.end();
		await handle.close();
	}
}

export async function runWriteSuite() {
	const cluster = await startPostgresCluster();
	const forget = onAbort(() => cluster.stop());
	const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const ticks: (Versus & { jobs: number })[] = [];
	let ingest: Awaited<ReturnType<typeof measureIngest>>;
	try {
		for (const jobs of JOB_COUNTS) {
			console.log(`write: ${jobs} running multi-metric jobs, Simulator.tick() back to back vs COPY …`);
			ticks.push({ jobs, ...(await measureTick(cluster, admin, jobs)) });
		}
		console.log(`write: ingestPoints() of ${INGEST_STEPS_PER_REQUEST} steps × ${INGEST_KEYS} keys vs COPY …`);
		ingest = await measureIngest(cluster, admin);
	} finally {
		await admin.end();
		cluster.stop();
		forget();
	}
	printTable([
		...ticks.map((t) => ({
			writer: `tick, ${t.jobs} jobs`,
			'values/s': t.valuesPerSecond,
			'COPY values/s': t.copyValuesPerSecond,
			'of COPY': t.ratio,
			'per round': `${Math.min(...t.roundRatios)}–${Math.max(...t.roundRatios)}`,
			'with deferred': t.deferred.ratioWithDeferred,
			'other CPU %': t.cpuPercent.other
		})),
		{
			writer: `ingest, ${INGEST_KEYS} keys/step`,
			'values/s': ingest.versus.valuesPerSecond,
			'COPY values/s': ingest.versus.copyValuesPerSecond,
			'of COPY': ingest.versus.ratio,
			'per round': `${Math.min(...ingest.versus.roundRatios)}–${Math.max(...ingest.versus.roundRatios)}`,
			'with deferred': ingest.versus.deferred.ratioWithDeferred,
			'other CPU %': ingest.versus.cpuPercent.other
		}
	]);
	console.log(
		`write: storage ${ingest.storage.bytesPerValue} bytes per value (metric_rows with indexes, ${ingest.storage.values} values)`
	);
	return { windowMs: WINDOW_MS, ticks, ingest };
}
