import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Db } from '../db';
import type { Database } from '../db/database';
import type { NewJobRow, JobWithLatest } from './jobs.table';
import { arrayLiteral } from '../ingest/array-literal';
import type { RunCursor, RunListRequest, RunSort } from '../../training/run-list';
import type { ConfigCondition } from '../../training/run-query';

type JobsBuilder = ExpressionBuilder<
	Database & { latest: { step: number | null; loss: number | null; accuracy: number | null } },
	'jobs' | 'latest'
>;

/** The companion of a primary metric that ends in loss: train/loss → train/accuracy. */
const ACCURACY_BESIDE_PRIMARY = sql`key = regexp_replace(jobs.primary_metric, 'loss$', 'accuracy') and jobs.primary_metric ~ 'loss$'`;

/**
 * A key's last value: in the newest row after its summary that holds it (within a key,
 * steps grow in commit order), else the summary's (metric-key-summaries.repository).
 */
const LAST_VALUE = sql`coalesce(
	(select r.vals[array_position(r.keys, k.key_no)] from metric_rows r
		where r.job_id = k.job_id and r.position > k.summary_position and k.key_no = any(r.keys)
		order by r.position desc limit 1),
	k.last_value)`;

/**
 * Jobs with their latest values: the greatest step of any key (jobs.metric_step), and the
 * last values of the primary metric and its companion (loss → accuracy). A job marked for
 * deletion is gone from every read here.
 */
function selectJobs(db: Db, { withConfig = true } = {}) {
	const query = db
		.selectFrom('jobs')
		.leftJoinLateral(
			(eb) =>
				eb
					.selectFrom('metric_keys as k')
					.select([
						sql<number | null>`(array_agg(${LAST_VALUE}) filter (where key = jobs.primary_metric))[1]`.as('loss'),
						sql<number | null>`(array_agg(${LAST_VALUE}) filter (where ${ACCURACY_BESIDE_PRIMARY}))[1]`.as('accuracy')
					])
					.whereRef('k.job_id', '=', 'jobs.id')
					.where(sql<SqlBool>`(key = jobs.primary_metric or ${ACCURACY_BESIDE_PRIMARY})`)
					.as('latest'),
			(join) => join.onTrue()
		)
		.where('jobs.deleting_at', 'is', null)
		.select([
			sql<number | null>`nullif(jobs.metric_step, 0)`.as('current_step'),
			'latest.loss as latest_loss',
			'latest.accuracy as latest_accuracy'
		]);
	return withConfig
		? query.selectAll('jobs')
		: query.select([
				'jobs.id',
				'jobs.name',
				'jobs.base_model',
				'jobs.dataset',
				'jobs.epochs',
				'jobs.steps_per_epoch',
				'jobs.learning_rate',
				'jobs.batch_size',
				'jobs.seed',
				'jobs.status',
				'jobs.source',
				'jobs.error',
				'jobs.created_at',
				'jobs.started_at',
				'jobs.finished_at',
				'jobs.lease_owner',
				'jobs.lease_expires_at',
				'jobs.tags',
				'jobs.note',
				'jobs.archived_at',
				'jobs.deleting_at',
				'jobs.primary_metric',
				'jobs.metric_position',
				'jobs.metric_step',
				'jobs.last_contact_at'
			]);
}

/** The newest jobs (the all-jobs feed starts with them). */
export async function listJobs(db: Db, { limit = 500 } = {}): Promise<JobWithLatest[]> {
	return selectJobs(db, { withConfig: false })
		.orderBy('jobs.created_at', 'desc')
		.orderBy('jobs.id', 'desc')
		.limit(limit)
		.execute();
}

/** Each sort's key: never null (missing values sort as NaN, after every number), and its SQL type for the cursor. */
const SORT_KEYS: Record<RunSort, { expression: (eb: JobsBuilder) => Expression<unknown>; type: string }> = {
	created: { expression: (eb) => eb.ref('jobs.created_at'), type: 'timestamptz' },
	name: { expression: (eb) => eb.ref('jobs.name'), type: 'text' },
	status: {
		// Live work first, then by outcome.
		expression: () =>
			sql`(case jobs.status when 'running' then 0 when 'queued' then 1 when 'completed' then 2 when 'failed' then 3 else 4 end)`,
		type: 'integer'
	},
	metric: { expression: () => sql`coalesce(latest.loss, 'NaN'::float8)`, type: 'float8' },
	duration: {
		expression: () => sql`coalesce(extract(epoch from jobs.finished_at - jobs.started_at)::float8, 'NaN'::float8)`,
		type: 'float8'
	}
};

/** `jobs.config`, or the config of the jobs a search looks for first (configFilter). */
type ConfigColumn = ReturnType<typeof sql.ref>;

/** `config @> {"a":{"b":value}}` for each JSON form the typed text can mean (number, string, boolean, null). */
function configEquals(config: ConfigColumn, condition: ConfigCondition) {
	const candidates: unknown[] = [condition.text];
	if (condition.number !== undefined) candidates.push(condition.number);
	if (condition.text === 'true' || condition.text === 'false') candidates.push(condition.text === 'true');
	if (condition.text === 'null') candidates.push(null);
	const nest = (value: unknown) => condition.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
	return sql<SqlBool>`(${sql.join(
		candidates.map((value) => sql`${config} @> cast(${JSON.stringify(nest(value))}::text as jsonb)`),
		sql` or `
	)})`;
}

function configCondition(config: ConfigColumn, condition: ConfigCondition) {
	if (condition.op === '=') return configEquals(config, condition);
	if (condition.op === '!=') return sql<SqlBool>`not ${configEquals(config, condition)}`;
	const path = sql`${arrayLiteral(condition.path)}::text[]`;
	const op = sql.raw(condition.op);
	const numberAt = sql`case when jsonb_typeof(${config} #> ${path}) = 'number' then (${config} #>> ${path})::float8 end`;
	return sql<SqlBool>`(${numberAt}) ${op} ${condition.number!}`;
}

const configConditions = (config: ConfigColumn, conditions: readonly ConfigCondition[]) =>
	sql<SqlBool>`(${sql.join(
		conditions.map((condition) => configCondition(config, condition)),
		sql` and `
	)})`;

/** Up to this many matches, a config search hands the page the ids it found. */
const CONFIG_PROBE_LIMIT = 1_000;

/**
 * How a page keeps to the config conditions. Postgres keeps no statistics for jsonb, so
 * in the page's query it walks created_at until it has a page of matches: quick when many
 * jobs match, a walk through every job when few do (0.6 s for one among 100,000). So the
 * matches are looked for first, on their own (a bitmap scan of the GIN index on config for
 * equality, a scan that stops at the limit for a range): few, and the page takes their ids;
 * many, and the walk finds a page of them at once (BENCHMARKS.md, run table).
 */
async function configFilter(db: Db, conditions: readonly ConfigCondition[]): Promise<Expression<SqlBool>> {
	const found = await db
		.selectFrom('jobs as matched')
		.select('matched.id')
		.where(configConditions(sql.ref('matched.config'), conditions))
		.where('matched.deleting_at', 'is', null)
		.limit(CONFIG_PROBE_LIMIT + 1)
		.execute();
	if (found.length > CONFIG_PROBE_LIMIT) return configConditions(sql.ref('jobs.config'), conditions);
	if (found.length === 0) return sql<SqlBool>`false`;
	return sql<SqlBool>`jobs.id = any(${arrayLiteral(found.map((row) => row.id))}::uuid[])`;
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * One page of the run table: filters, search, sort, and the rows after the cursor (one
 * extra, to know if more follow).
 */
export async function listRuns(
	db: Db,
	request: RunListRequest
): Promise<{ rows: JobWithLatest[]; last: RunCursor | undefined; more: boolean }> {
	const sortKey = SORT_KEYS[request.sort];
	const { query } = request;
	const config = query.config.length > 0 ? await configFilter(db, query.config) : undefined;
	let select = selectJobs(db, { withConfig: request.withConfig })
		.select((eb) => sql<string>`(${sortKey.expression(eb as JobsBuilder)})::text`.as('sort_key'))
		.where((eb) => {
			const all: Expression<SqlBool>[] = [];
			if (request.archived === 'exclude') all.push(eb('jobs.archived_at', 'is', null));
			if (request.archived === 'only') all.push(eb('jobs.archived_at', 'is not', null));
			if (request.statuses.length > 0) all.push(eb('jobs.status', 'in', request.statuses));
			if (request.sources.length > 0) all.push(eb('jobs.source', 'in', request.sources));
			const tags = [...request.tags, ...query.tags];
			if (tags.length > 0) all.push(sql<SqlBool>`jobs.tags @> ${arrayLiteral(tags)}::text[]`);
			for (const name of query.names) all.push(sql<SqlBool>`jobs.name ilike ${likePattern(name)}`);
			for (const word of query.words) {
				all.push(sql<SqlBool>`(jobs.name ilike ${likePattern(word)} or jobs.tags @> ${arrayLiteral([word])}::text[])`);
			}
			if (config) all.push(config);
			return eb.and(all);
		});

	const { cursor } = request;
	if (cursor) {
		const direction = sql.raw(request.order === 'desc' ? '<' : '>');
		const type = sql.raw(sortKey.type);
		select = select.where(
			(eb) =>
				sql<SqlBool>`(${sortKey.expression(eb as JobsBuilder)}, jobs.id) ${direction} (cast(${cursor.key} as ${type}), ${cursor.id}::uuid)`
		);
	}
	const rows = await select
		.orderBy((eb) => sortKey.expression(eb as JobsBuilder), request.order)
		.orderBy('jobs.id', request.order)
		.limit(request.limit + 1)
		.execute();
	const more = rows.length > request.limit;
	const page = rows.slice(0, request.limit);
	const tail = page.at(-1);
	const last = tail ? { sort: request.sort, order: request.order, key: tail.sort_key, id: tail.id } : undefined;
	return { rows: page.map(({ sort_key: _, ...row }) => row as JobWithLatest), last, more };
}

export async function findJob(db: Db, id: string): Promise<JobWithLatest | undefined> {
	return selectJobs(db).where('jobs.id', '=', id).executeTakeFirst();
}

export async function insertJob(db: Db, job: NewJobRow): Promise<JobWithLatest> {
	const row = await db.insertInto('jobs').values(job).returningAll().executeTakeFirstOrThrow();
	return { ...row, current_step: null, latest_loss: null, latest_accuracy: null };
}

export async function countJobs(db: Db): Promise<number> {
	const { count } = await db
		.selectFrom('jobs')
		.select((eb) => eb.fn.countAll<string>().as('count'))
		.executeTakeFirstOrThrow();
	return Number(count);
}

/** Names taken by `NAME` and `NAME (n)`, for naming a copy. */
export async function namesLike(db: Db, name: string): Promise<string[]> {
	const rows = await db
		.selectFrom('jobs')
		.select('name')
		.where((eb) =>
			eb.or([eb('name', '=', name), eb('name', 'like', `${name.replace(/[\\%_]/g, (c) => `\\${c}`)} (%)`)])
		)
		.execute();
	return rows.map((row) => row.name);
}
