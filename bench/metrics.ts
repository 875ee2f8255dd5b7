/**
 * Suite "metrics": the named-metrics reads of long runs (issue #13), on the built server
 * and a real Postgres, over HTTP:
 *   - GET …/metrics/keys of a run of 100 keys × 100,000 steps (20 keys every step, 80 every
 *     100th), with a live run's tail of rows not yet folded into the keys' summaries;
 *   - one key of 10 such runs at maxPoints=1000 (a compare chart), the 10 requests at once;
 *   - one key of a 1,000,000-step multi-metric job at maxPoints=1000, and a zoom to 1 % of it
 *     (GET …/metrics/range at 1,000 pixels, and ?maxPoints=1000&fromStep=&toStep=).
 * Seeding: INSERT … SELECT generate_series, then the server's own roll-up code
 * (block-rollups.rollUp: the keys' summaries, then the block extremes).
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import postgres from 'postgres';
import { openDatabase, type Db } from '../src/lib/server/db';
import { rollUp } from '../src/lib/server/metrics/block-rollups';
import { summarizeKeys } from '../src/lib/server/metrics/metric-key-summaries.repository';
import { startPostgresCluster, type PostgresCluster } from '../tests/support/postgres-cluster';
import { startServer, BENCH_READS } from '../tests/support/server';
import { ensureBuild } from './lib/build';
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

const RUN_STEPS = envNumber('BENCH_METRICS_RUN_STEPS', 100_000, 2_000);
const RUNS = envNumber('BENCH_METRICS_RUNS', 10, 3);
const DENSE_KEYS = 20;
const SPARSE_KEYS = 80;
const SPARSE_EVERY = 100;
/** Rows of the first run left out of its summaries: a live run's tail (at most a block or so). */
const TAIL_ROWS = envNumber('BENCH_METRICS_TAIL_ROWS', 200, 50);
const LONG_STEPS = envNumber('BENCH_METRICS_LONG_STEPS', 1_000_000, 5_000);
/** The simulator's shape: 7 keys every step, 2 every 100th. */
const LONG_DENSE = 7;
const LONG_SPARSE = 2;
const REPEATS = envNumber('BENCH_METRICS_REPEATS', 20, 2);
const TARGETS = { keysMs: 50, compareMs: 300, longMs: 150, longKB: 100, zoomMs: 100 };

interface Fetched {
	ms: number;
	bytes: number;
	body: string;
}

/** A GET that counts the bytes as sent (fetch() would hide them by decompressing). */
function get(url: string, gzip = false): Promise<Fetched> {
	const started = performance.now();
	return new Promise((resolve, reject) => {
		const request = http.get(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => {
				const raw = Buffer.concat(chunks);
				const body = response.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
				if (response.statusCode !== 200) return reject(new Error(`GET ${url} → ${response.statusCode}: ${body}`));
				resolve({ ms: performance.now() - started, bytes: raw.length, body });
			});
			response.on('error', reject);
		});
		request.on('error', reject);
	});
}

interface Timed {
	ms: Summary;
	kB: number;
	/** What the last answer held (points, keys), to check the read is the one meant. */
	items: number;
}

async function timeGet(url: string, count: (body: string) => number, gzip = false): Promise<Timed> {
	await get(url, gzip); // warm-up: plans cached, pages in shared buffers
	const times: number[] = [];
	let last: Fetched | undefined;
	for (let i = 0; i < REPEATS; i++) {
		last = await get(url, gzip);
		times.push(last.ms);
	}
	return { ms: summarize(times), kB: round(last!.bytes / 1024, 1), items: count(last!.body) };
}

/** A job row straight into the table (the API's validation is not what is measured). */
async function insertJob(sql: postgres.Sql, name: string, steps: number, primary: string): Promise<string> {
	const [row] = await sql<{ id: string }[]>`
		insert into jobs (name, base_model, dataset, epochs, steps_per_epoch, learning_rate, batch_size, seed, status,
			source, primary_metric, started_at, finished_at)
		values (${name}, 'llama-3-8b', 'openwebtext', 1000, ${Math.max(1, steps / 1000)}, 0.0003, 64, 7, 'completed',
			'external', ${primary}, now() - interval '3 hours', now())
		returning id`;
	return row!.id;
}

/**
 * Steps from..to of a job whose keys 0 … dense-1 come every step and dense … dense+sparse-1
 * every SPARSE_EVERY steps, by one INSERT … SELECT generate_series; the job's position and
 * greatest step follow, as the write statement would leave them.
 */
async function insertRows(sql: postgres.Sql, jobId: string, from: number, to: number, dense: number, sparse: number) {
	await sql`
		insert into metric_rows (job_id, position, step, epoch, recorded_at, keys, vals)
		select ${jobId}::uuid, s, s, (s - 1) / 1000 + 1, now() - interval '3 hours' + s * interval '10 ms',
			array(select k::smallint from generate_series(0, case when s % ${SPARSE_EVERY} = 0 then ${dense + sparse - 1}::int
				else ${dense - 1}::int end) k),
			array(select (k + 1) / sqrt(s) + 0.01 * sin(s * 12.9898 + k) + case when s = ${Math.round(to * 0.61)} and k = 0 then 20 else 0 end
				from generate_series(0, case when s % ${SPARSE_EVERY} = 0 then ${dense + sparse - 1}::int else ${dense - 1}::int end) k)
		from generate_series(${from}::int, ${to}::int) s`;
	await sql`update jobs set metric_position = ${to}, metric_step = ${to} where id = ${jobId}`;
}

/** The keys of such a job, interned with empty summaries at position 0 (as the write path interns them). */
async function insertKeys(sql: postgres.Sql, jobId: string, dense: number, sparse: number) {
	await sql`
		insert into metric_keys (job_id, key_no, key, first_step, summary_position)
		select ${jobId}::uuid, k, case when k < ${dense} then 'train/m' || lpad(k::text, 2, '0')
			else 'val/m' || lpad(k::text, 2, '0') end,
			case when k < ${dense} then 1 else ${SPARSE_EVERY} end, 0
		from generate_series(0, ${dense + sparse - 1}::int) k`;
}

/** A copy of a seeded job's rows, keys and blocks under another job: the same shape at no roll-up cost. */
async function copyJob(sql: postgres.Sql, from: string, to: string) {
	await sql`
		insert into metric_rows (job_id, position, step, epoch, recorded_at, keys, vals)
		select ${to}::uuid, position, step, epoch, recorded_at, keys, vals from metric_rows where job_id = ${from}`;
	await sql`
		insert into metric_keys (job_id, key_no, key, summary_position, count, first_step, last_step, last_value, min_value, max_value)
		select ${to}::uuid, key_no, key, summary_position, count, first_step, last_step, last_value, min_value, max_value
		from metric_keys where job_id = ${from}`;
	await sql`
		insert into metric_key_blocks (job_id, key_no, block, step, epoch, value, recorded_at)
		select ${to}::uuid, key_no, block, step, epoch, value, recorded_at from metric_key_blocks where job_id = ${from}`;
	await sql`
		update jobs t set metric_position = f.metric_position, metric_step = f.metric_step
		from jobs f where f.id = ${from} and t.id = ${to}`;
}

async function seed(sql: postgres.Sql, db: Db) {
	const started = performance.now();
	const runs: string[] = [];
	for (let r = 0; r < RUNS; r++) runs.push(await insertJob(sql, `run ${r}`, RUN_STEPS, 'train/m00'));
	const first = runs[0]!;
	await insertKeys(sql, first, DENSE_KEYS, SPARSE_KEYS);
	await insertRows(sql, first, 1, RUN_STEPS - TAIL_ROWS, DENSE_KEYS, SPARSE_KEYS);
	await rollUp(db, first);
	// A live run's newest rows: after the summaries (readers add them up) and the last block.
	await insertRows(sql, first, RUN_STEPS - TAIL_ROWS + 1, RUN_STEPS, DENSE_KEYS, SPARSE_KEYS);
	for (const run of runs.slice(1)) await copyJob(sql, first, run);
	// One of them with its tail folded in, as the background step leaves a run between blocks.
	await summarizeKeys(db, runs[1]!);
	const runSeconds = (performance.now() - started) / 1000;

	const longStarted = performance.now();
	const long = await insertJob(sql, 'a million steps', LONG_STEPS, 'train/m00');
	await insertKeys(sql, long, LONG_DENSE, LONG_SPARSE);
	await insertRows(sql, long, 1, LONG_STEPS, LONG_DENSE, LONG_SPARSE);
	const insertSeconds = (performance.now() - longStarted) / 1000;
	const rollupStarted = performance.now();
	await rollUp(db, long);
	const rollupSeconds = (performance.now() - rollupStarted) / 1000;
	for (const table of ['metric_rows', 'metric_keys', 'metric_key_blocks', 'jobs'])
		await sql.unsafe(`vacuum analyze ${table}`);
	return {
		runs,
		long,
		seconds: { runs: round(runSeconds), longInsert: round(insertSeconds), longRollUp: round(rollupSeconds) }
	};
}

const series = (body: string) =>
	(JSON.parse(body) as { series: { values: unknown[] }[] }).series.reduce((n, s) => n + s.values.length, 0);

/** The 10 runs' one key, all requests at once (as a compare chart asks), REPEATS times. */
async function timeCompare(base: string, runs: readonly string[], key: string) {
	const urls = runs.map(
		(id) => `${base}/api/training/jobs/${id}/metrics?key=${encodeURIComponent(key)}&maxPoints=1000`
	);
	await Promise.all(urls.map((url) => get(url)));
	const together: number[] = [];
	const oneByOne: number[] = [];
	let kB = 0;
	let points = 0;
	for (let i = 0; i < REPEATS; i++) {
		const started = performance.now();
		const answers = await Promise.all(urls.map((url) => get(url)));
		together.push(performance.now() - started);
		kB = round(answers.reduce((n, a) => n + a.bytes, 0) / 1024, 1);
		points = answers.reduce((n, a) => n + series(a.body), 0);
		let sum = 0;
		for (const url of urls) sum += (await get(url)).ms;
		oneByOne.push(sum);
	}
	return { togetherMs: summarize(together), oneByOneMs: summarize(oneByOne), kB, points };
}

async function measure(base: string, cluster: PostgresCluster, serverPid: number, runs: string[], long: string) {
	const serverCpu = new CpuMeter(() => [serverPid]);
	const pgCpu = new CpuMeter(() => postgresPids(cluster.dataDir));
	const self = new SelfMeter();
	const machine = new MachineMeter();
	serverCpu.start();
	pgCpu.start();
	self.start();
	machine.start();

	const keysCount = (body: string) => (JSON.parse(body) as { keys: unknown[] }).keys.length;
	const keys = await timeGet(`${base}/api/training/jobs/${runs[0]}/metrics/keys`, keysCount);
	const keysSummarized = await timeGet(`${base}/api/training/jobs/${runs[1]}/metrics/keys`, keysCount);
	const compareDense = await timeCompare(base, runs, 'train/m00');
	// A sparse key's values all fit in maxPoints, so each request reads them raw: every row
	// of the run (the array layout's known cost). Measured, and reported if it fails.
	const compareSparse = await timeCompare(base, runs, 'val/m20').catch((error: Error) => ({
		error: error.message.slice(0, 200),
		togetherMs: summarize([]),
		oneByOneMs: summarize([]),
		kB: 0,
		points: 0
	}));
	const longUrl = `${base}/api/training/jobs/${long}/metrics?key=train/m00`;
	const longCurve = await timeGet(`${longUrl}&maxPoints=1000`, series);
	const longCurveGzip = await timeGet(`${longUrl}&maxPoints=1000`, series, true);
	const from = Math.round(LONG_STEPS * 0.5) + 1;
	const to = from + Math.round(LONG_STEPS * 0.01) - 1;
	const zoomRange = await timeGet(
		`${base}/api/training/jobs/${long}/metrics/range?key=train/m00&fromStep=${from}&toStep=${to}&width=1000`,
		(body) => (JSON.parse(body) as { values: unknown[] }).values.length
	);
	const zoomMaxPoints = await timeGet(`${longUrl}&maxPoints=1000&fromStep=${from}&toStep=${to}`, series);

	const cpu = {
		server: round(serverCpu.stop()),
		postgres: round(pgCpu.stop()),
		bench: round(self.stop()),
		machine: round(machine.stop())
	};
	return {
		keys,
		keysSummarized,
		compareDense,
		compareSparse,
		longCurve,
		longCurveGzip,
		zoom: { fromStep: from, toStep: to, range: zoomRange, maxPoints: zoomMaxPoints },
		cpuPercent: { ...cpu, other: round(Math.max(0, cpu.machine - cpu.server - cpu.postgres - cpu.bench)) }
	};
}

export async function runMetricsSuite() {
	const build = ensureBuild();
	const cluster = await startPostgresCluster();
	const forgetCluster = onAbort(() => cluster.stop());
	const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const handle = openDatabase({ kind: 'postgres', url: cluster.url }, { requestTimeoutMs: 600_000 });
	let server;
	try {
		// Migrated by the server, then stopped: seeding runs alone.
		const setup = await startServer({ DATABASE_URL: cluster.url, ...BENCH_READS });
		await setup.stop();
		console.log(
			`metrics: seeding ${RUNS} runs of ${DENSE_KEYS + SPARSE_KEYS} keys × ${RUN_STEPS} steps and one of ${LONG_STEPS} steps …`
		);
		const seeded = await seed(sql, handle.db);
		console.log(`metrics: seeded in ${JSON.stringify(seeded.seconds)} s; reads …`);
		server = await startServer({ DATABASE_URL: cluster.url, VAPOR_DEMO: '0', ...BENCH_READS });
		const forgetServer = onAbort(() => server!.kill());
		let figures;
		try {
			figures = await measure(server.url, cluster, server.process.pid!, seeded.runs, seeded.long);
		} finally {
			await server.stop();
			forgetServer();
		}
		const ms = (s: Summary) => `${round(s.p50)} / ${round(s.p99)}`;
		printTable([
			{
				read: `keys, ${DENSE_KEYS + SPARSE_KEYS} keys × ${RUN_STEPS} steps, ${TAIL_ROWS}-row tail`,
				'p50 / p99 ms': ms(figures.keys.ms),
				kB: figures.keys.kB,
				items: figures.keys.items,
				target: `< ${TARGETS.keysMs} ms`
			},
			{
				read: 'keys, same run, summaries folded',
				'p50 / p99 ms': ms(figures.keysSummarized.ms),
				kB: figures.keysSummarized.kB,
				items: figures.keysSummarized.items,
				target: ''
			},
			{
				read: `${RUNS} runs' train/m00 at maxPoints=1000, at once`,
				'p50 / p99 ms': ms(figures.compareDense.togetherMs),
				kB: figures.compareDense.kB,
				items: figures.compareDense.points,
				target: `< ${TARGETS.compareMs} ms together`
			},
			{
				read: '… one after another (sum)',
				'p50 / p99 ms': ms(figures.compareDense.oneByOneMs),
				kB: '',
				items: '',
				target: ''
			},
			{
				read: `${RUNS} runs' val/m20 (every ${SPARSE_EVERY}th step), at once`,
				'p50 / p99 ms': ms(figures.compareSparse.togetherMs),
				kB: figures.compareSparse.kB,
				items: figures.compareSparse.points,
				target: ''
			},
			{
				read: `one key of ${LONG_STEPS} steps at maxPoints=1000`,
				'p50 / p99 ms': ms(figures.longCurve.ms),
				kB: figures.longCurve.kB,
				items: figures.longCurve.items,
				target: `< ${TARGETS.longMs} ms, < ${TARGETS.longKB} kB`
			},
			{
				read: '… gzip',
				'p50 / p99 ms': ms(figures.longCurveGzip.ms),
				kB: figures.longCurveGzip.kB,
				items: figures.longCurveGzip.items,
				target: ''
			},
			{
				read: `zoom to 1 % (${figures.zoom.fromStep}–${figures.zoom.toStep}), /metrics/range width=1000`,
				'p50 / p99 ms': ms(figures.zoom.range.ms),
				kB: figures.zoom.range.kB,
				items: figures.zoom.range.items,
				target: `< ${TARGETS.zoomMs} ms`
			},
			{
				read: '… ?maxPoints=1000&fromStep=&toStep=',
				'p50 / p99 ms': ms(figures.zoom.maxPoints.ms),
				kB: figures.zoom.maxPoints.kB,
				items: figures.zoom.maxPoints.items,
				target: `< ${TARGETS.zoomMs} ms`
			}
		]);
		console.log(`metrics: CPU during the reads (% of one core): ${JSON.stringify(figures.cpuPercent)}`);
		return {
			runSteps: RUN_STEPS,
			runs: RUNS,
			keys: { dense: DENSE_KEYS, sparse: SPARSE_KEYS, sparseEvery: SPARSE_EVERY },
			tailRows: TAIL_ROWS,
			longSteps: LONG_STEPS,
			longKeys: { dense: LONG_DENSE, sparse: LONG_SPARSE },
			repeats: REPEATS,
			seedSeconds: seeded.seconds,
			...figures,
			targets: TARGETS,
			buildRebuilt: build.rebuilt
		};
	} finally {
		await handle.close();
		await sql.end({ timeout: 5 });
		cluster.stop();
		forgetCluster();
	}
}
