/**
 * Suite "runs": the run table with many runs, on the built server and a real Postgres.
 *   - 10 jobs, then 100,000 (configs of 50 keys, 10 tags each), inserted in bulk SQL;
 *   - at each size: the first page of GET /api/training/jobs and of the /training/jobs page,
 *     searches by tag and by config value (equality: the GIN index; a range: a filter on the
 *     created_at walk), each with the plan Postgres chose (EXPLAIN ANALYZE of the very SQL
 *     the server runs, taken from listRuns through a logging Kysely);
 *   - the same searches once more without the GIN indexes, to show what they do;
 *   - the page drawn in Chromium, navigation start to the first row on screen;
 *   - deleting a 1,000,000-point run while a writer posts batches: ingest latency before and during.
 * Times are round trips on 127.0.0.1 (server time plus a local hop).
 */
import { chromium, type Browser } from '@playwright/test';
import { Kysely, sql, type CompiledQuery } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Database } from '../src/lib/server/db/database';
import { listRuns } from '../src/lib/server/jobs/jobs.repository';
import { parseRunListParams } from '../src/lib/training/run-list';
import { startPostgresCluster } from '../tests/support/postgres-cluster';
import { authorization, BENCH_READS, startServer } from '../tests/support/server';
import { ensureBuild } from './lib/build';
import {
	envNumber,
	MachineMeter,
	onAbort,
	percentile,
	printTable,
	round,
	sleep,
	smokeOr,
	summarize
} from './lib/measure';

const JOBS = envNumber('BENCH_RUNS_JOBS', 100_000, 2_000);
const FEW = 10;
const RUNS = envNumber('BENCH_RUNS_REQUESTS', 15, 3);
const NAVIGATIONS = envNumber('BENCH_RUNS_NAVIGATIONS', 5, 1);
const DELETE_POINTS = envNumber('BENCH_RUNS_DELETE_POINTS', 1_000_000, 5_000);
const BASELINE_MS = smokeOr(8_000, 1_000);
const DELETE_WINDOW_MS = smokeOr(90_000, 10_000);
const INGEST_BATCH = 100;
const TAGS_IN_USE = 200;
const LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1];
const TARGETS = { firstPageMs: 100, searchMs: 150, pageDrawnMs: 1000, deleteIngestP99Ratio: 2 };

/**
 * What is asked of the run table, as the address holds it. Job i carries the tags
 * tag-((7i + 31k) mod 200) for k = 1..10 (each tag on ~5 % of jobs), rare-tag on one job in
 * 1,000, optimizer.lr cycling through LEARNING_RATES, and seed = i.
 */
const QUERIES = (jobs: number) => ({
	firstPage: '',
	tag: 'tag=tag-17',
	rareTag: 'q=tag:rare-tag',
	configEquals: `q=${encodeURIComponent('config.optimizer.lr=0.03')}`,
	configEqualsRare: `q=${encodeURIComponent(`config.seed=${Math.ceil(jobs / 2)}`)}`,
	configRange: `q=${encodeURIComponent('config.optimizer.lr>0.01')}`,
	configRangeRare: `q=${encodeURIComponent(`config.seed>${jobs - 20}`)}`
});
type QueryName = keyof ReturnType<typeof QUERIES>;

/** Jobs first..last, in one statement: a config of 50 keys, 10 tags, finished a second apart. */
async function insertJobs(db: Kysely<Database>, first: number, last: number) {
	const rates = sql.raw(`array[${LEARNING_RATES.join(',')}]::float8[]`);
	await sql`
		insert into jobs (name, base_model, dataset, epochs, steps_per_epoch, learning_rate, batch_size, seed,
			status, source, created_at, started_at, finished_at, config, tags)
		select 'sweep run ' || i, 'resnet-50', 'imagenet', 10, 100, lr, 64, i,
			'completed', 'external', now() - make_interval(secs => ${last} - i + 600),
			now() - make_interval(secs => ${last} - i + 600), now() - make_interval(secs => ${last} - i),
			jsonb_build_object(
				'optimizer', jsonb_build_object('name', case when i % 3 = 0 then 'sgd' else 'adamw' end, 'lr', lr,
					'weight_decay', 0.01, 'betas', jsonb_build_array(0.9, 0.999)),
				'model', jsonb_build_object('layers', 12 + i % 4 * 12, 'hidden', 768, 'heads', 12, 'dropout', 0.1),
				'seed', i
			) || (select jsonb_object_agg('param_' || k, (i * k) % 997) from generate_series(1, 41) k),
			(select array_agg('tag-' || ((7 * i + 31 * k) % ${TAGS_IN_USE})) from generate_series(1, 10) k)
				|| case when i % 1000 = 0 then array['rare-tag'] else array[]::text[] end
		from generate_series(${first}::int, ${last}::int) i,
			lateral (select (${rates})[1 + i % ${LEARNING_RATES.length}] as lr) rate`.execute(db);
	await sql`vacuum analyze jobs`.execute(db);
}

interface Timed {
	p50: number;
	p95: number;
	max: number;
	rows: number;
}

async function timeGet(url: string, runs: number, rowsOf: (body: string) => number): Promise<Timed> {
	const once = async () => {
		const started = performance.now();
		const response = await fetch(url);
		const body = await response.text();
		if (response.status !== 200) throw new Error(`GET ${url} → ${response.status}: ${body.slice(0, 300)}`);
		return { ms: performance.now() - started, body };
	};
	const warm = await once();
	const times: number[] = [];
	for (let run = 0; run < runs; run++) times.push((await once()).ms);
	const sorted = times.sort((a, b) => a - b);
	return {
		p50: round(percentile(sorted, 50)),
		p95: round(percentile(sorted, 95)),
		max: round(sorted.at(-1)!),
		rows: rowsOf(warm.body)
	};
}

const apiRows = (body: string) => (JSON.parse(body) as { jobs: unknown[] }).jobs.length;
const pageRows = (body: string) => body.match(/<td class="name[\s"]/g)?.length ?? 0;

/** The plan Postgres picks for the SQL the server runs for this address (indexes used, time). */
async function explain(raw: postgres.Sql, search: string) {
	const parsed = parseRunListParams(new URLSearchParams(search));
	if (!parsed.ok) throw new Error(`${search}: ${parsed.error}`);
	// The compiled SQL, from the repository's own builder: Kysely's log sees every query it runs.
	let captured: CompiledQuery | undefined;
	const logging = new Kysely<Database>({
		dialect: new PostgresJSDialect({ postgres: raw }),
		log: (event) => {
			if (event.level === 'query') captured ??= event.query;
		}
	});
	await listRuns(logging, parsed.request);
	const lines = (await raw.unsafe(
		`explain (analyze, costs off, timing off) ${captured!.sql}`,
		captured!.parameters as postgres.ParameterOrJSON<never>[]
	)) as unknown as { 'QUERY PLAN': string }[];
	const plan = lines.map((line) => line['QUERY PLAN']);
	const indexes = [
		...new Set(
			plan.flatMap((line) =>
				[...line.matchAll(/(?:Index(?: Only)? Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)/g)].map((m) => m[1]!)
			)
		)
	];
	const seqScans = plan.filter((line) => /Seq Scan on jobs/.test(line)).length;
	const execution = plan.find((line) => line.startsWith('Execution Time'));
	return {
		indexes,
		seqScanOnJobs: seqScans > 0,
		executionMs: execution ? Number(/([\d.]+) ms/.exec(execution)![1]) : Number.NaN,
		topNode: plan.find((line) => !/^\s*Limit/.test(line))?.trim() ?? ''
	};
}

async function measureSize(base: string, raw: postgres.Sql, jobs: number) {
	const results: Record<string, Timed & { plan?: Awaited<ReturnType<typeof explain>> }> = {};
	for (const [name, search] of Object.entries(QUERIES(jobs)) as [QueryName, string][]) {
		results[`api.${name}`] = {
			...(await timeGet(`${base}/api/training/jobs?${search}`, RUNS, apiRows)),
			plan: await explain(raw, search)
		};
	}
	results['page.firstPage'] = await timeGet(`${base}/training/jobs`, RUNS, pageRows);
	results['page.configRange'] = await timeGet(`${base}/training/jobs?${QUERIES(jobs).configRange}`, RUNS, pageRows);
	return results;
}

/** Navigation start to the first row of the run table on screen, each in a fresh context. */
async function timeToDrawnTable(browser: Browser, url: string) {
	const times: number[] = [];
	for (let run = 0; run < NAVIGATIONS; run++) {
		const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
		const page = await context.newPage();
		await page.goto(url, { waitUntil: 'commit' });
		const drawn = await page.waitForFunction(
			() => (document.querySelector('tbody td.name a')?.getBoundingClientRect().height ?? 0) > 0 && performance.now(),
			undefined,
			{ polling: 'raf', timeout: 30_000 }
		);
		times.push((await drawn.jsonValue()) as number);
		await context.close();
	}
	return summarize(times);
}

/** One writer posting batches to its own job; latencies of the batches that start inside the window. */
function ingestWriter(base: string, jobId: string) {
	let step = 1;
	const samples: { at: number; ms: number }[] = [];
	let stop = false;
	const done = (async () => {
		while (!stop) {
			const points = Array.from({ length: INGEST_BATCH }, (_, i) => ({
				step: step + i,
				loss: 1 / (step + i),
				accuracy: 0.5
			}));
			step += INGEST_BATCH;
			const at = performance.now();
			const response = await fetch(`${base}/api/training/jobs/${jobId}/metrics`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...authorization() },
				body: JSON.stringify(points)
			});
			await response.text();
			if (!response.ok) throw new Error(`metrics → ${response.status}`);
			samples.push({ at, ms: performance.now() - at });
		}
	})();
	return {
		between: (from: number, to: number) => samples.filter((s) => s.at >= from && s.at < to).map((s) => s.ms),
		async stop() {
			stop = true;
			await done;
		}
	};
}

/** A finished run of `points` steps (loss and accuracy), written in bulk SQL as the writer would store it. */
async function insertBigRun(db: Kysely<Database>, points: number): Promise<string> {
	const { rows } = await sql<{ id: string }>`
		insert into jobs (name, base_model, dataset, epochs, steps_per_epoch, learning_rate, batch_size, seed,
			status, source, started_at, finished_at, metric_position, metric_step)
		values ('A million points', 'llama-3-8b', 'openwebtext', 1000, ${points / 1000}, 0.0003, 64, 1,
			'completed', 'external', now() - interval '1 day', now(), ${points}, ${points})
		returning id`.execute(db);
	const id = rows[0]!.id;
	await sql`
		insert into metric_rows (job_id, position, step, epoch, keys, vals)
		select ${id}::uuid, s, s, 1 + (s - 1) / 1000, '{0,1}'::smallint[], array[1.0 / s, 0.5]::float8[]
		from generate_series(1, ${points}::int) s`.execute(db);
	await sql`
		insert into metric_keys (job_id, key_no, key, summary_position, count, first_step, last_step, last_value, min_value, max_value)
		values (${id}::uuid, 0, 'loss', ${points}, ${points}, 1, ${points}, ${1 / points}, ${1 / points}, 1),
			(${id}::uuid, 1, 'accuracy', ${points}, ${points}, 1, ${points}, 0.5, 0.5, 0.5)`.execute(db);
	await sql`vacuum analyze metric_rows`.execute(db);
	return id;
}

async function deleteDuringIngest(base: string, db: Kysely<Database>) {
	const inserted = performance.now();
	const bigRun = await insertBigRun(db, DELETE_POINTS);
	const insertSeconds = round((performance.now() - inserted) / 1000);
	const created = await fetch(`${base}/api/training/jobs`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...authorization() },
		body: JSON.stringify({ name: 'ingest beside a delete', source: 'external', epochs: 1000, stepsPerEpoch: 1000 })
	});
	const writerJob = ((await created.json()) as { job: { id: string } }).job.id;
	const writer = ingestWriter(base, writerJob);
	try {
		await sleep(1_000); // warm-up
		const baselineFrom = performance.now();
		await sleep(BASELINE_MS);
		const deleteFrom = performance.now();
		const answer = await fetch(`${base}/api/training/jobs/${bigRun}`, { method: 'DELETE', headers: authorization() });
		if (answer.status !== 202) throw new Error(`DELETE → ${answer.status}: ${await answer.text()}`);
		const deleteAnswerMs = round(performance.now() - deleteFrom);
		let gone = false;
		while (!gone && performance.now() - deleteFrom < DELETE_WINDOW_MS) {
			await sleep(250);
			const { rows } = await sql<{ n: number }>`select count(*)::int as n from jobs where id = ${bigRun}::uuid`.execute(
				db
			);
			gone = rows[0]!.n === 0;
		}
		const deleteSeconds = round((performance.now() - deleteFrom) / 1000);
		const before = summarize(writer.between(baselineFrom, deleteFrom));
		const during = summarize(writer.between(deleteFrom, performance.now()));
		return {
			points: DELETE_POINTS,
			insertSeconds,
			deleteAnswerMs,
			deleteSeconds,
			finished: gone,
			ingestBatch: INGEST_BATCH,
			before: { count: before.count, p50: round(before.p50), p99: round(before.p99) },
			during: { count: during.count, p50: round(during.p50), p99: round(during.p99) },
			p99Ratio: round(during.p99 / before.p99, 2)
		};
	} finally {
		await writer.stop();
	}
}

export async function runRunsSuite() {
	const build = ensureBuild();
	const cluster = await startPostgresCluster();
	const forgetCluster = onAbort(() => cluster.stop());
	const raw = postgres(cluster.url, { max: 2, onnotice: () => {} });
	const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: raw }) });
	const server = await startServer({ DATABASE_URL: cluster.url, VAPOR_DEMO: '0', ...BENCH_READS });
	const forgetServer = onAbort(() => server.kill());
	const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--disable-gpu'] });
	const meter = new MachineMeter();
	meter.start();
	try {
		await insertJobs(db, 1, FEW);
		console.log(`runs: ${FEW} jobs …`);
		const few = await measureSize(server.url, raw, FEW);
		const fewDrawn = await timeToDrawnTable(browser, `${server.url}/training/jobs`);

		const insertStarted = performance.now();
		await insertJobs(db, FEW + 1, JOBS);
		const insertSeconds = round((performance.now() - insertStarted) / 1000);
		console.log(`runs: ${JOBS} jobs (inserted in ${insertSeconds} s) …`);
		const many = await measureSize(server.url, raw, JOBS);
		const manyDrawn = await timeToDrawnTable(browser, `${server.url}/training/jobs`);

		// What the GIN indexes do: the same searches with them gone (the planner falls back to the created_at walk).
		await sql`drop index jobs_config_idx`.execute(db);
		await sql`drop index jobs_tags_idx`.execute(db);
		const withoutGin: Record<string, Timed & { plan: Awaited<ReturnType<typeof explain>> }> = {};
		const queries = QUERIES(JOBS);
		for (const name of ['tag', 'rareTag', 'configEquals', 'configEqualsRare'] as const) {
			withoutGin[`api.${name}`] = {
				...(await timeGet(`${server.url}/api/training/jobs?${queries[name]}`, RUNS, apiRows)),
				plan: await explain(raw, queries[name])
			};
		}

		console.log(`runs: deleting a ${DELETE_POINTS}-point run while a writer posts batches of ${INGEST_BATCH} …`);
		const deletion = await deleteDuringIngest(server.url, db);
		const busyPercent = round(meter.stop());

		const searchNames = Object.keys(queries).filter((name) => name !== 'firstPage');
		const met = {
			firstPage: many['api.firstPage']!.p95 < TARGETS.firstPageMs && many['page.firstPage']!.p95 < TARGETS.firstPageMs,
			searches: searchNames.every((name) => many[`api.${name}`]!.p95 < TARGETS.searchMs),
			pageDrawn: manyDrawn.p50 < TARGETS.pageDrawnMs,
			deleteIngest: deletion.finished && deletion.p99Ratio <= TARGETS.deleteIngestP99Ratio
		};
		const row = (
			label: string,
			name: string,
			timed: Record<string, Timed & { plan?: { indexes: string[]; seqScanOnJobs: boolean } }>
		) => {
			const t = timed[name];
			if (!t) return undefined;
			const plan = t.plan ? [...t.plan.indexes, ...(t.plan.seqScanOnJobs ? ['seq scan'] : [])].join(' + ') : '';
			return { measure: label, jobs: timed === few ? FEW : JOBS, p50: t.p50, p95: t.p95, rows: t.rows, plan };
		};
		const rows = [];
		for (const timed of [few, many]) {
			for (const name of Object.keys(timed)) rows.push(row(name, name, timed)!);
		}
		for (const name of Object.keys(withoutGin)) rows.push({ ...row(`${name} (no GIN)`, name, withoutGin)! });
		printTable(rows);
		printTable([
			{ measure: 'page drawn (Chromium)', jobs: FEW, p50: round(fewDrawn.p50), max: round(fewDrawn.max) },
			{ measure: 'page drawn (Chromium)', jobs: JOBS, p50: round(manyDrawn.p50), max: round(manyDrawn.max) }
		]);
		printTable([
			{ ingest: 'before delete', batches: deletion.before.count, p50: deletion.before.p50, p99: deletion.before.p99 },
			{ ingest: 'during delete', batches: deletion.during.count, p50: deletion.during.p50, p99: deletion.during.p99 }
		]);
		console.log(
			`delete of ${DELETE_POINTS} points: answered in ${deletion.deleteAnswerMs} ms, gone after ${deletion.deleteSeconds} s` +
				` (finished: ${deletion.finished}); ingest p99 ×${deletion.p99Ratio}; machine ${busyPercent} % busy during the suite`
		);
		console.log(`targets met: ${JSON.stringify(met)}`);
		return {
			jobs: JOBS,
			insertSeconds,
			machineBusyPercentDuring: busyPercent,
			few,
			many,
			withoutGin,
			pageDrawnMs: { few: fewDrawn, many: manyDrawn },
			deletion,
			targets: TARGETS,
			met,
			buildRebuilt: build.rebuilt
		};
	} finally {
		await browser.close();
		await server.stop();
		forgetServer();
		await db.destroy();
		cluster.stop();
		forgetCluster();
	}
}
