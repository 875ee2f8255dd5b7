import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db';
import { FINITE } from './metric-key-blocks.repository';
import type { MetricKeyRow } from './metrics.table';

/**
 * Per key of one job, what its rows after its summary_position add to its summary: the
 * "tail" that the write statement leaves to readers and to summarizeKeys. One range scan of
 * the job's newest rows (the primary key is (job_id, position)), however many keys.
 */
function tailStats(jobId: string, only: RawBuilder<unknown>, upTo: RawBuilder<unknown> = sql`2147483647`) {
	return sql`(
		select v.key_no, count(*)::integer as n, min(r.step) as first_step, max(r.step) as last_step,
			-- The value at the greatest step without sorting the values (a key's steps are unique).
			(max(array[r.step::float8, v.value]))[2] as last_value,
			min(v.value) filter (where ${FINITE}) as min_value,
			max(v.value) filter (where ${FINITE}) as max_value
		from metric_rows r
		cross join lateral unnest(r.keys, r.vals) as v(key_no, value)
		join metric_keys k on k.job_id = r.job_id and k.key_no = v.key_no and r.position > k.summary_position
		where r.job_id = ${jobId} and ${only}
			and r.position > (select coalesce(min(summary_position), 2147483647) from metric_keys where job_id = ${jobId})
			and r.position <= ${upTo}
		group by v.key_no
	)`;
}

/**
 * Every key of a job (or those `only` keeps, on metric_keys as k) with its complete summary,
 * as SQL: the stored summary with the tail added. Within a key steps only grow in commit
 * order, so the tail's last step and value are the key's, and its first step is the key's
 * when nothing was summarized yet.
 */
export function keySummariesSql(jobId: string, only: RawBuilder<unknown> = sql`true`): RawBuilder<MetricKeyRow> {
	return sql<MetricKeyRow>`
		select k.job_id, k.key_no, k.key, k.summary_position,
			k.count + coalesce(t.n, 0) as count,
			coalesce(k.first_step, t.first_step) as first_step,
			coalesce(t.last_step, k.last_step) as last_step,
			case when t.last_step is null then k.last_value else t.last_value end as last_value,
			least(k.min_value, t.min_value) as min_value,
			greatest(k.max_value, t.max_value) as max_value
		from metric_keys k
		left join ${tailStats(jobId, only)} t on t.key_no = k.key_no
		where k.job_id = ${jobId} and ${only}`;
}

/** Every key of a job (or the one named) with its complete summary, in the order the keys first arrived. */
export async function readKeySummaries(db: Db, jobId: string, key?: string): Promise<MetricKeyRow[]> {
	const only = key === undefined ? sql`true` : sql`k.key = ${key}`;
	const { rows } = await sql<MetricKeyRow>`${keySummariesSql(jobId, only)} order by k.key_no`.execute(db);
	return rows;
}

/**
 * Folds a job's tail into its keys' summaries, up to the job's current position. Off the
 * write path (BlockRollups runs it after commits). Two at once take turns on the keys' rows:
 * the second one's statement starts after the first committed, so it adds only what is left.
 */
export async function summarizeKeys(db: Db, jobId: string): Promise<void> {
	await db.transaction().execute(async (trx) => {
		await sql`select key_no from metric_keys where job_id = ${jobId} for update`.execute(trx);
		// A new statement, a new snapshot: every row up to the position it reads is visible in it
		// (a writer inserts its rows and moves the position in one transaction).
		await sql`
			with upto as (select metric_position as p from jobs where id = ${jobId}),
			tail as ${tailStats(jobId, sql`true`, sql`(select p from upto)`)}
			update metric_keys k set
				count = k.count + coalesce(t.n, 0),
				first_step = coalesce(k.first_step, t.first_step),
				last_step = coalesce(t.last_step, k.last_step),
				last_value = case when t.last_step is null then k.last_value else t.last_value end,
				min_value = least(k.min_value, t.min_value),
				max_value = greatest(k.max_value, t.max_value),
				summary_position = (select p from upto)
			from metric_keys s left join tail t on t.key_no = s.key_no
			where k.job_id = ${jobId} and s.job_id = ${jobId} and s.key_no = k.key_no
				and k.summary_position < (select p from upto)`.execute(trx);
	});
}
