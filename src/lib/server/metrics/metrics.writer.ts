import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db';
import type { JobEvents } from '../events/job-events';
import { notifyPairsSql } from '../events/notify';
import { statusAssignmentsSql, type StatusChange } from '../jobs/transitions';
import { arrayLiteral } from '../ingest/array-literal';
import { MAX_KEYS_PER_JOB, type CommittedRow } from '../../training/metrics';
import type { JobStatus } from '../../training/job';
import type { BlockRollups } from './block-rollups';

/** One step's values of one job, as a writer hands them in. */
export interface BatchRow {
	jobId: string;
	step: number;
	epoch: number;
	/** ISO 8601; undefined: the commit time. */
	recordedAt?: string;
	values: Record<string, number>;
	/** Keys whose value here is a failure signal (see transitions.ingestStatusChanges). */
	signals?: readonly string[];
}

/**
 * Which jobs the commit may write: 'simulated' ones this instance leases and that are
 * still running (the tick), or any job whose row the caller's transaction has locked
 * already (ingest, after lockJob).
 */
export type WriterGuard = { kind: 'lease'; instanceId: string } | { kind: 'locked' };

export interface CommitOutcome {
	/** The commit time: recorded_at of the rows that gave none. */
	committedAt: string;
	/** Jobs the guard refused (stopped meanwhile, or leased by another instance): nothing of theirs was written. */
	skipped: Set<string>;
	/** The rows written, per job, with their stream positions; retried values are left out. */
	rows: Map<string, CommittedRow[]>;
	/** Values already stored with the same value (accepted, not written again). */
	duplicates: number;
	/** The first value that cannot be stored; then nothing at all was written. */
	conflict: { key: string; step: number; stored: boolean; lastStep: number } | undefined;
	/** Set when the job would pass MAX_KEYS_PER_JOB; then nothing was written. */
	tooManyKeys: { jobId: string; keys: number } | undefined;
	finished: { jobId: string; status: JobStatus }[];
}

interface Flat {
	job: string[];
	row: number[];
	step: number[];
	epoch: number[];
	recordedAt: (string | null)[];
	key: string[];
	value: number[];
	signal: boolean[];
}

function flatten(rows: readonly BatchRow[]): Flat {
	const flat: Flat = { job: [], row: [], step: [], epoch: [], recordedAt: [], key: [], value: [], signal: [] };
	rows.forEach((row, index) => {
		for (const key in row.values) {
			flat.job.push(row.jobId);
			flat.row.push(index);
			flat.step.push(row.step);
			flat.epoch.push(row.epoch);
			flat.recordedAt.push(row.recordedAt ?? null);
			flat.key.push(key);
			flat.value.push(row.values[key]!);
			flat.signal.push(row.signals?.includes(key) ?? false);
		}
	});
	return flat;
}

const keyLiteral = (keys: readonly string[]) => arrayLiteral(keys);
const boolLiteral = (values: readonly boolean[]) => `{${values.map((v) => (v ? 't' : 'f')).join(',')}}`;

/**
 * THE write path of metric values, for every writer (the simulator's tick, an ingest
 * request): ONE statement that
 *  - locks the jobs it may write (the guard) and reads their keys;
 *  - checks every value at or below its key's last stored step (only in jobs that have a
 *    value at or below their greatest step, jobs.metric_step): stored with the same
 *    value is a duplicate (accepted, not written twice); anything else is a conflict,
 *    and then nothing at all is written;
 *  - interns new keys (at most MAX_KEYS_PER_JOB per job); the keys' summaries are not
 *    touched (a row per key per commit was the statement's largest cost): readers add the
 *    rows after them, and BlockRollups folds those in later (metric-key-summaries.repository);
 *  - inserts one metric_rows row per given row, numbered by the job's commit-order
 *    position (jobs.metric_position);
 *  - applies the status changes whose condition holds;
 *  - NOTIFYs the new positions and statuses (delivered on commit).
 * Each column travels as one array literal (array-literal.ts).
 *
 * Most commits only append: every key known, every step after its job's greatest step (the
 * tick after its first, a script's next steps). Those are tried first with a statement
 * that skips every check above but those two (appendFront); when one fails it writes
 * nothing and the full statement (checkedFront) runs. Both end in the same commit (commitBack).
 */
export async function commitMetrics(
	db: Db,
	instanceId: string,
	guard: WriterGuard,
	rows: readonly BatchRow[],
	statusChanges: readonly StatusChange[] = []
): Promise<CommitOutcome> {
	const jobIds = [...new Set([...rows.map((r) => r.jobId), ...statusChanges.map((c) => c.jobId)])];
	const locked =
		guard.kind === 'lease'
			? sql`select id, metric_step, metric_position from jobs where id = any(${arrayLiteral(jobIds)}::uuid[])
					and status = 'running' and source = 'simulated' and lease_owner = ${guard.instanceId} for update`
			: sql`select id, metric_step, metric_position from jobs where id = any(${arrayLiteral(jobIds)}::uuid[])`;
	const back = (outputs: RawBuilder<unknown>) => commitBack(instanceId, jobIds, statusChanges, outputs);
	const { rows: appended } = await sql<StatementRow & { fallback: boolean }>`
		${appendFront(rows, locked)}
		${back(sql`not (select ok from ok) as fallback`)}`.execute(db);
	if (!appended[0]!.fallback) return toOutcome(rows, appended[0]!);
	const { rows: result } = await sql<StatementRow>`
		${checkedFront(rows, locked)}
		${back(sql`(select json_agg(json_build_array(row_no, key)) from checked where verdict = 'duplicate') as duplicate_values,
			(select row_to_json(first_conflict) from first_conflict) as conflict,
			(select row_to_json(too_many) from too_many) as too_many`)}`.execute(db);
	return toOutcome(rows, result[0]!);
}

interface StatementRow {
	committed_at: Date | string;
	skipped: string[] | null;
	positions: [number, number][] | null;
	duplicate_values?: [number, string][] | null;
	conflict?: { key: string; step: number; stored: boolean; last_step: number } | null;
	too_many?: { job_id: string; keys: number } | null;
	finished: { job_id: string; status: JobStatus }[] | null;
}

/**
 * The rows of a commit that only appends, or nothing with ok = false: each row once (the
 * job ids, steps, epochs and times per row, the values with their row's number), and one
 * check per value (its key is known) and per row (its step is after its job's greatest).
 * Defines locked, ok and fresh_rows for commitBack.
 */
function appendFront(rows: readonly BatchRow[], locked: RawBuilder<unknown>): RawBuilder<unknown> {
	const rowNo: number[] = [];
	const key: string[] = [];
	const value: number[] = [];
	const signal: boolean[] = [];
	rows.forEach((row, index) => {
		for (const k in row.values) {
			rowNo.push(index);
			key.push(k);
			value.push(row.values[k]!);
			signal.push(row.signals?.includes(k) ?? false);
		}
	});
	return sql`
		with locked as materialized (${locked}),
		r as materialized (
			select job_id, step, epoch, recorded_at, (n - 1)::integer as row_no from unnest(
				${arrayLiteral(rows.map((r) => r.jobId))}::uuid[], ${arrayLiteral(rows.map((r) => r.step))}::integer[],
				${arrayLiteral(rows.map((r) => r.epoch))}::integer[],
				${arrayLiteral(rows.map((r) => r.recordedAt ?? null))}::timestamptz[]
			) with ordinality as r(job_id, step, epoch, recorded_at, n)
			where job_id in (select id from locked)
		),
		known as materialized (
			select k.job_id, k.key, k.key_no from metric_keys k where k.job_id in (select id from locked)
		),
		v as materialized (
			select x.row_no, k.key_no, x.value, x.signal
			from unnest(
				${arrayLiteral(rowNo)}::integer[], ${keyLiteral(key)}::text[],
				${arrayLiteral(value)}::double precision[], ${boolLiteral(signal)}::boolean[]
			) as x(row_no, key, value, signal)
			join r on r.row_no = x.row_no
			left join known k on k.job_id = r.job_id and k.key = x.key
		),
		ok as (
			select not exists (select 1 from v where key_no is null)
				and not exists (select 1 from r join locked l on l.id = r.job_id where r.step <= l.metric_step) as ok
		),
		fresh_rows as materialized (
			select r.job_id, r.row_no, r.step, r.epoch, r.recorded_at, g.keys, g.vals, g.signal
			from (
				select row_no, array_agg(key_no) as keys, array_agg(value) as vals, bool_or(signal) as signal
				from v group by row_no
			) g
			join r on r.row_no = g.row_no
			where (select ok from ok)
		),`;
}

/**
 * Every check of the write path (see commitMetrics). Defines locked, ok and fresh_rows for
 * commitBack, and checked, first_conflict and too_many for the outcome.
 */
function checkedFront(rows: readonly BatchRow[], locked: RawBuilder<unknown>): RawBuilder<unknown> {
	const flat = flatten(rows);
	return sql`
		with u as materialized (
			select * from unnest(
				${arrayLiteral(flat.job)}::uuid[], ${arrayLiteral(flat.row)}::integer[],
				${arrayLiteral(flat.step)}::integer[], ${arrayLiteral(flat.epoch)}::integer[],
				${arrayLiteral(flat.recordedAt)}::timestamptz[], ${keyLiteral(flat.key)}::text[],
				${arrayLiteral(flat.value)}::double precision[], ${boolLiteral(flat.signal)}::boolean[]
			) with ordinality as u(job_id, row_no, step, epoch, recorded_at, key, value, signal, ord)
		),
		locked as materialized (${locked}),
		known as materialized (
			select k.job_id, k.key, k.key_no, k.last_step, k.summary_position
			from metric_keys k where k.job_id in (select id from locked)
		),
		-- A value above its job's greatest step is new for its key: no per-key check (the tick,
		-- a script's next steps). Only jobs with a value at or below it need their keys' last
		-- steps: the summary's, or a later one among the rows after it (the tail).
		slow_jobs as materialized (
			select distinct u.job_id from u join locked l on l.id = u.job_id where u.step <= l.metric_step
		),
		tail_last as materialized (
			select r.job_id, v.key_no, max(r.step) as last_step
			from slow_jobs s
			join metric_rows r on r.job_id = s.job_id
				and r.position > (select coalesce(min(k.summary_position), 0) from known k where k.job_id = s.job_id)
			cross join lateral unnest(r.keys) as v(key_no)
			group by r.job_id, v.key_no
		),
		checked as materialized (
			select c.*,
				case when c.known_no is null or c.last_step is null or c.step > c.last_step then 'fresh'
					when s.value is not null and s.value = c.value then 'duplicate'
					else 'conflict' end as verdict,
				s.value is not null as stored
			from (
				select u.*, k.key_no as known_no,
					case when u.step > l.metric_step then null else greatest(k.last_step, t.last_step) end as last_step
				from u
				join locked l on l.id = u.job_id
				left join known k on k.job_id = u.job_id and k.key = u.key
				left join tail_last t on t.job_id = u.job_id and t.key_no = k.key_no
			) c
			left join lateral (
				select v.value from metric_rows r, unnest(r.keys, r.vals) as v(key_no, value)
				where c.known_no is not null and c.step <= c.last_step
					and r.job_id = c.job_id and r.step = c.step and v.key_no = c.known_no
				limit 1
			) s on true
		),
		first_conflict as (
			select key, step, stored, last_step from checked where verdict = 'conflict' order by step, key limit 1
		),
		-- Per job: its keys so far, and the highest key number; and the position before this
		-- commit. Looked up in one jsonb object each, like the bases below: the CTEs' row
		-- estimates (1) made joins and subqueries against them nested loops, keys × keys
		-- comparisons (49 million, over 5 s, on the first tick of 1,000 new jobs).
		job_keys as (
			select jsonb_object_agg(l.id::text, jsonb_build_array(coalesce(s.n, 0), coalesce(s.top, -1), l.metric_position)) as m
			from locked l
			left join (select job_id, count(*) as n, max(key_no) as top from known group by job_id) s on s.job_id = l.id
		),
		fresh_keys as materialized (
			select job_id, key, min(step) as first_step,
				((select m from job_keys) -> job_id::text ->> 1)::integer
					+ row_number() over (partition by job_id order by min(ord)) as key_no
			from checked n where known_no is null group by job_id, key
		),
		too_many as (
			select job_id, ((select m from job_keys) -> job_id::text ->> 0)::integer + count(*) as keys
			from fresh_keys f group by job_id
			having ((select m from job_keys) -> job_id::text ->> 0)::integer + count(*) > ${MAX_KEYS_PER_JOB}
			limit 1
		),
		ok as (select not exists (select 1 from first_conflict) and not exists (select 1 from too_many) as ok),
		fresh_key_numbers as (
			select jsonb_object_agg(job_id::text || ' ' || key, key_no) as m from fresh_keys
		),
		fresh as (
			select c.*,
				coalesce(c.known_no, ((select m from fresh_key_numbers) ->> (c.job_id::text || ' ' || c.key))::integer) as key_no
			from checked c
			where c.verdict = 'fresh' and (select ok from ok)
		),
		-- A new key starts with an empty summary at the job's position before this commit:
		-- readers add its values from the rows after it (metric-key-summaries.repository).
		keys_inserted as (
			insert into metric_keys (job_id, key_no, key, first_step, summary_position)
			select f.job_id, f.key_no, f.key, f.first_step, ((select m from job_keys) -> f.job_id::text ->> 2)::integer
			from fresh_keys f
			where (select ok from ok)
		),
		fresh_rows as materialized (
			select job_id, row_no, min(step) as step, min(epoch) as epoch, min(recorded_at) as recorded_at,
				array_agg(key_no order by key_no) as keys, array_agg(value order by key_no) as vals,
				bool_or(signal) as signal
			from fresh group by job_id, row_no
		),
	`;
}

/**
 * The commit itself, after a front: status changes, the one update of each job row, the
 * rows inserted at their positions, the NOTIFYs, and the outcome (with the front's `outputs`).
 */
function commitBack(
	instanceId: string,
	jobIds: readonly string[],
	statusChanges: readonly StatusChange[],
	outputs: RawBuilder<unknown>
): RawBuilder<unknown> {
	return sql`
		change_input as (
			select * from unnest(
				${arrayLiteral(statusChanges.map((c) => c.jobId))}::uuid[],
				${arrayLiteral(statusChanges.map((c) => c.status))}::text[],
				${arrayLiteral(statusChanges.map((c) => c.error))}::text[],
				${arrayLiteral(statusChanges.map((c) => c.when))}::text[]
			) with ordinality as c(job_id, status, error, condition, priority)
		),
		chosen as (
			select distinct on (c.job_id) c.job_id, c.status, c.error
			from change_input c
			where c.job_id in (select id from locked) and (select ok from ok)
				and (c.condition = 'always'
					or (c.condition = 'fresh' and exists (select 1 from fresh_rows f where f.job_id = c.job_id))
					or (c.condition = 'signal' and exists (select 1 from fresh_rows f where f.job_id = c.job_id and f.signal)))
			order by c.job_id, c.priority
		),
		row_counts as (
			select job_id, count(*)::integer as n, max(step) as max_step from fresh_rows group by job_id
		),
		-- ONE update of each job row (Postgres applies only one of two updates of a row in a
		-- statement): its new rows' positions and its status change together.
		job_updates as (
			select coalesce(rc.job_id, ch.job_id) as job_id, coalesce(rc.n, 0) as n, coalesce(rc.max_step, 0) as max_step,
				ch.status, ch.error
			from row_counts rc full join chosen ch on ch.job_id = rc.job_id
		),
		bumped as (
			update jobs set metric_position = metric_position + u.n, metric_step = greatest(metric_step, u.max_step),
				${statusAssignmentsSql(sql`u.status`, sql`u.error`, sql`u.status is not null`)}
			from job_updates u where jobs.id = u.job_id
			returning jobs.id as job_id, jobs.metric_position - u.n as base, jobs.metric_position as last, u.n,
				u.status is not null as changed, jobs.status
		),
		finished as (select job_id, status from bumped where changed),
		-- The bases as one lookup: the CTEs' row estimates (1) would make a join of rows and jobs
		-- a nested loop, rows × jobs comparisons (7 million, 4 s, at 1,000 jobs).
		bases as (select jsonb_object_agg(job_id::text, base) as m from bumped),
		numbered as (
			select r.*, ((select m from bases) ->> r.job_id::text)::integer
				+ row_number() over (partition by r.job_id order by r.row_no) as position
			from fresh_rows r
		),
		inserted as (
			insert into metric_rows (job_id, position, step, epoch, recorded_at, keys, vals)
			select job_id, position, step, epoch, coalesce(recorded_at, now()), keys, vals from numbered
		)
		select
			now() as committed_at,
			array(select id from unnest(${arrayLiteral(jobIds)}::uuid[]) as id except select id from locked)::text[] as skipped,
			(select json_agg(json_build_array(row_no, position)) from numbered) as positions,
			(select json_agg(finished) from finished) as finished,
			${notifyPairsSql(instanceId, 'p', sql`(select job_id, last as x from bumped where n > 0)`)} as notified_points,
			${notifyPairsSql(instanceId, 's', sql`(select job_id, status as x from finished)`)} as notified_statuses,
			${outputs}`;
}

function toOutcome(rows: readonly BatchRow[], row: StatementRow): CommitOutcome {
	const committedAt = new Date(row.committed_at).toISOString();
	const skipped = new Set(row.skipped ?? []);
	const outcome: CommitOutcome = {
		committedAt,
		skipped,
		rows: new Map(),
		duplicates: row.duplicate_values?.length ?? 0,
		conflict: row.conflict
			? {
					key: row.conflict.key,
					step: row.conflict.step,
					stored: row.conflict.stored,
					lastStep: row.conflict.last_step
				}
			: undefined,
		tooManyKeys: row.too_many ? { jobId: row.too_many.job_id, keys: Number(row.too_many.keys) } : undefined,
		finished: (row.finished ?? []).map((f) => ({ jobId: f.job_id, status: f.status }))
	};
	if (outcome.conflict || outcome.tooManyKeys) return outcome;
	// What was written, rebuilt from what was sent: each row that kept a fresh value, at
	// its position, without the values that were already stored.
	const positions = new Map(row.positions ?? []);
	const duplicate = new Set((row.duplicate_values ?? []).map(([rowNo, key]) => `${rowNo}\u0000${key}`));
	rows.forEach((batchRow, rowNo) => {
		const position = positions.get(rowNo);
		if (position === undefined) return;
		let values = batchRow.values;
		if (duplicate.size > 0) {
			values = {};
			for (const key in batchRow.values)
				if (!duplicate.has(`${rowNo}\u0000${key}`)) values[key] = batchRow.values[key]!;
		}
		let list = outcome.rows.get(batchRow.jobId);
		if (!list) outcome.rows.set(batchRow.jobId, (list = []));
		list.push({
			position,
			step: batchRow.step,
			epoch: batchRow.epoch,
			recordedAt: batchRow.recordedAt ? new Date(batchRow.recordedAt).toISOString() : committedAt,
			values
		});
	});
	return outcome;
}

/**
 * The one after-commit step of every writer: publish the committed rows through the job
 * events (this process's streams and feed; other processes were NOTIFYed by the commit),
 * and ask for the block roll-ups that the new steps may have completed.
 */
export function publishCommitted(
	events: JobEvents,
	rollups: BlockRollups | undefined,
	outcome: CommitOutcome,
	primaryOf: (jobId: string) => string
): void {
	for (const [jobId, committed] of outcome.rows) {
		events.rowsCommitted(jobId, primaryOf(jobId), committed);
		rollups?.rowsCommitted(jobId, committed);
	}
	for (const { jobId } of outcome.finished) rollups?.request(jobId);
}
