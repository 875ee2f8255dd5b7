import { sql, type Kysely } from 'kysely';

/**
 * The keys' summaries (count, last step and value, min, max in metric_keys) leave the write
 * statement: updating one row per key per commit cost the tick more than inserting its rows
 * (BENCHMARKS.md, "the write path against COPY"). From here on:
 *  - metric_keys.summary_position: the job position up to which the key's summary counts its
 *    values. A reader adds the job's rows after it (the "tail", a few hundred at most), and a
 *    background step (metric-key-summaries.repository) folds the tail in, with the block roll-ups;
 *  - jobs.metric_step: the greatest step of any key, kept by the write statement in the one
 *    update of the job row it already makes. A value above it needs no per-key check at all;
 *  - jobs gets fillfactor 50, so that the write statement's update of the row stays HOT.
 * Up: every summary is complete today, so each key starts at its job's position.
 * Down: the tails are folded into the summaries first (the old code reads them as complete).
 */
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.alterTable('metric_keys')
		.addColumn('summary_position', 'integer', (col) => col.notNull().defaultTo(0))
		.execute();
	await sql`
		update metric_keys k set summary_position = j.metric_position
		from jobs j where j.id = k.job_id`.execute(db);
	await db.schema
		.alterTable('jobs')
		.addColumn('metric_step', 'integer', (col) => col.notNull().defaultTo(0))
		.execute();
	// Every commit updates its job's row (position, greatest step), 20 times a second for a
	// simulated job: room on each page keeps those updates HOT, which the six indexes of jobs
	// (two of them GIN) would otherwise each pay for (the tick's update of 1,000 jobs went
	// from most rows moving to another page, with new entries in every index, to none).
	await sql`alter table jobs set (fillfactor = 50)`.execute(db);
	await sql`
		update jobs j set metric_step = m.step
		from (select job_id, max(last_step) as step from metric_keys group by job_id) m
		where j.id = m.job_id and m.step is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
	await sql`
		with tail as (
			select k.job_id, k.key_no, count(*)::integer as n, min(r.step) as first_step, max(r.step) as last_step,
				(max(array[r.step::float8, v.value]))[2] as last_value,
				min(v.value) filter (where v.value not in ('NaN', 'Infinity', '-Infinity')) as min_value,
				max(v.value) filter (where v.value not in ('NaN', 'Infinity', '-Infinity')) as max_value
			from metric_keys k
			join metric_rows r on r.job_id = k.job_id and r.position > k.summary_position
			cross join lateral unnest(r.keys, r.vals) as v(key_no, value)
			where v.key_no = k.key_no
			group by k.job_id, k.key_no
		)
		update metric_keys k set
			count = k.count + t.n,
			first_step = coalesce(k.first_step, t.first_step),
			last_step = t.last_step,
			last_value = t.last_value,
			min_value = least(k.min_value, t.min_value),
			max_value = greatest(k.max_value, t.max_value)
		from tail t where k.job_id = t.job_id and k.key_no = t.key_no`.execute(db);
	await db.schema.alterTable('metric_keys').dropColumn('summary_position').execute();
	await db.schema.alterTable('jobs').dropColumn('metric_step').execute();
	await sql`alter table jobs reset (fillfactor)`.execute(db);
}
