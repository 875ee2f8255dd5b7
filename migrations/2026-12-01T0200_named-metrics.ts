import { sql, type Kysely } from 'kysely';

/**
 * Any named metric per job. Layout chosen by measurement (BENCHMARKS.md#named-metrics-storage):
 *  - metric_keys: a job's keys, interned as small numbers (key_no), with each key's summary
 *    (count, first and last step, last value, lowest and highest finite value);
 *  - metric_rows: one row per job, step and commit, the values as parallel arrays of key
 *    numbers and doubles. `position` numbers a job's rows in commit order; it is what the
 *    event stream resumes from. jobs.metric_position is the last one handed out;
 *  - metric_key_blocks: the M4 extremes of each key's completed blocks of 256 steps.
 * Existing points become the keys `loss` (0) and `accuracy` (1), at position = step.
 * Down maps each job's primary metric back to loss and its companion to accuracy (other keys
 * are dropped: the old schema has no place for them).
 */
const BLOCK_STEPS = 256;

export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.alterTable('jobs')
		.addColumn('primary_metric', 'text', (col) =>
			col
				.notNull()
				.defaultTo('loss')
				.check(sql`char_length(primary_metric) between 1 and 250`)
		)
		.addColumn('metric_position', 'integer', (col) => col.notNull().defaultTo(0))
		.execute();

	await db.schema
		.createTable('metric_keys')
		.addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
		.addColumn('key_no', 'smallint', (col) => col.notNull().check(sql`key_no between 0 and 999`))
		.addColumn('key', 'text', (col) => col.notNull().check(sql`char_length(key) between 1 and 250`))
		.addColumn('count', 'integer', (col) => col.notNull().defaultTo(0))
		.addColumn('first_step', 'integer')
		.addColumn('last_step', 'integer')
		.addColumn('last_value', 'double precision')
		.addColumn('min_value', 'double precision')
		.addColumn('max_value', 'double precision')
		.addPrimaryKeyConstraint('metric_keys_pkey', ['job_id', 'key_no'])
		.addUniqueConstraint('metric_keys_job_key_unique', ['job_id', 'key'])
		.execute();
	// Every commit updates its keys' summaries: room on each page keeps those updates HOT.
	await sql`alter table metric_keys set (fillfactor = 50)`.execute(db);

	await db.schema
		.createTable('metric_rows')
		.addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
		.addColumn('position', 'integer', (col) => col.notNull().check(sql`position > 0`))
		.addColumn('step', 'integer', (col) => col.notNull().check(sql`step > 0`))
		.addColumn('epoch', 'integer', (col) => col.notNull().check(sql`epoch > 0`))
		.addColumn('recorded_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.addColumn('keys', sql`smallint[]`, (col) => col.notNull())
		.addColumn('vals', sql`double precision[]`, (col) => col.notNull())
		.addCheckConstraint('metric_rows_same_length', sql`cardinality(keys) = cardinality(vals) and cardinality(keys) > 0`)
		.addPrimaryKeyConstraint('metric_rows_pkey', ['job_id', 'position'])
		.execute();
	await db.schema.createIndex('metric_rows_step_idx').on('metric_rows').columns(['job_id', 'step']).execute();

	await db.schema
		.createTable('metric_key_blocks')
		.addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
		.addColumn('key_no', 'smallint', (col) => col.notNull())
		.addColumn('block', 'integer', (col) => col.notNull().check(sql`block >= 0`))
		.addColumn('step', sql`integer[]`, (col) => col.notNull())
		.addColumn('epoch', sql`integer[]`, (col) => col.notNull())
		.addColumn('value', sql`double precision[]`, (col) => col.notNull())
		.addColumn('recorded_at', sql`timestamptz[]`, (col) => col.notNull())
		.addPrimaryKeyConstraint('metric_key_blocks_pkey', ['job_id', 'key_no', 'block'])
		.execute();

	await sql`
		insert into metric_keys (job_id, key_no, key, count, first_step, last_step, last_value, min_value, max_value)
		select job_id, 0, 'loss', count(*)::integer, min(step), max(step),
			(array_agg(loss order by step desc))[1],
			min(loss) filter (where loss not in ('NaN', 'Infinity', '-Infinity')),
			max(loss) filter (where loss not in ('NaN', 'Infinity', '-Infinity'))
		from metrics group by job_id`.execute(db);
	await sql`
		insert into metric_keys (job_id, key_no, key, count, first_step, last_step, last_value, min_value, max_value)
		select job_id, 1, 'accuracy', count(*)::integer, min(step), max(step),
			(array_agg(accuracy order by step desc))[1],
			min(accuracy) filter (where accuracy not in ('NaN', 'Infinity', '-Infinity')),
			max(accuracy) filter (where accuracy not in ('NaN', 'Infinity', '-Infinity'))
		from metrics where accuracy is not null group by job_id`.execute(db);
	await sql`
		insert into metric_rows (job_id, position, step, epoch, recorded_at, keys, vals)
		select job_id, step, step, epoch, recorded_at,
			case when accuracy is null then '{0}'::smallint[] else '{0,1}'::smallint[] end,
			case when accuracy is null then array[loss] else array[loss, accuracy] end
		from metrics`.execute(db);
	await sql`
		update jobs set metric_position = m.last from (select job_id, max(step) as last from metrics group by job_id) m
		where jobs.id = m.job_id`.execute(db);
	await sql`
		insert into metric_key_blocks (job_id, key_no, block, step, epoch, value, recorded_at)
		select p.job_id, p.key_no, p.block,
			array_agg(p.step order by p.step), array_agg(p.epoch order by p.step),
			array_agg(p.value order by p.step), array_agg(p.recorded_at order by p.step)
		from (
			select distinct on (v.job_id, v.key_no, v.step) v.*
			from (
				select m.job_id, k.key_no, m.step, m.epoch, m.recorded_at,
					case k.key_no when 0 then m.loss else m.accuracy end as value,
					m.step / ${BLOCK_STEPS} as block,
					row_number() over w_first as r_first,
					row_number() over w_last as r_last,
					row_number() over w_min as r_min,
					row_number() over w_max as r_max
				from metrics m
				join metric_keys k on k.job_id = m.job_id
				join (select job_id, key_no, last_step / ${BLOCK_STEPS} as open_block from metric_keys) o
					on o.job_id = k.job_id and o.key_no = k.key_no
				where (k.key_no = 0 or m.accuracy is not null) and m.step / ${BLOCK_STEPS} < o.open_block
				window
					w_first as (partition by m.job_id, k.key_no, m.step / ${BLOCK_STEPS} order by m.step),
					w_last as (partition by m.job_id, k.key_no, m.step / ${BLOCK_STEPS} order by m.step desc),
					w_min as (partition by m.job_id, k.key_no, m.step / ${BLOCK_STEPS}
						order by (case k.key_no when 0 then m.loss else m.accuracy end) not in ('NaN', 'Infinity', '-Infinity') desc,
							case k.key_no when 0 then m.loss else m.accuracy end, m.step),
					w_max as (partition by m.job_id, k.key_no, m.step / ${BLOCK_STEPS}
						order by (case k.key_no when 0 then m.loss else m.accuracy end) not in ('NaN', 'Infinity', '-Infinity') desc,
							case k.key_no when 0 then m.loss else m.accuracy end desc, m.step)
			) v
			where r_first = 1 or r_last = 1 or r_min = 1 or r_max = 1
		) p
		group by p.job_id, p.key_no, p.block`.execute(db);

	await db.schema.dropTable('metric_blocks').execute();
	await db.schema.dropTable('metrics').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('metrics')
		.addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
		.addColumn('step', 'integer', (col) => col.notNull().check(sql`step > 0`))
		.addColumn('epoch', 'integer', (col) => col.notNull().check(sql`epoch > 0`))
		.addColumn('loss', 'double precision', (col) => col.notNull())
		.addColumn('accuracy', 'double precision')
		.addColumn('recorded_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.addPrimaryKeyConstraint('metrics_pkey', ['job_id', 'step'])
		.execute();
	await db.schema
		.createTable('metric_blocks')
		.addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
		.addColumn('block', 'integer', (col) => col.notNull().check(sql`block >= 0`))
		.addColumn('step', sql`integer[]`, (col) => col.notNull())
		.addColumn('epoch', sql`integer[]`, (col) => col.notNull())
		.addColumn('loss', sql`double precision[]`, (col) => col.notNull())
		.addColumn('accuracy', sql`double precision[]`, (col) => col.notNull())
		.addColumn('recorded_at', sql`timestamptz[]`, (col) => col.notNull())
		.addPrimaryKeyConstraint('metric_blocks_pkey', ['job_id', 'block'])
		.execute();

	// The primary metric becomes loss, its companion (loss → accuracy in the name) accuracy.
	await sql`
		insert into metrics (job_id, step, epoch, loss, accuracy, recorded_at)
		select p.job_id, p.step, p.epoch, p.value, a.value, p.recorded_at
		from (
			select r.job_id, r.step, r.epoch, r.recorded_at, u.value
			from jobs j
			join metric_keys k on k.job_id = j.id and k.key = j.primary_metric
			join metric_rows r on r.job_id = j.id
			cross join lateral unnest(r.keys, r.vals) as u(key_no, value)
			where u.key_no = k.key_no
		) p
		left join lateral (
			select u.value
			from jobs j
			join metric_keys k on k.job_id = j.id and k.key = regexp_replace(j.primary_metric, 'loss$', 'accuracy')
			join metric_rows r on r.job_id = j.id and r.step = p.step
			cross join lateral unnest(r.keys, r.vals) as u(key_no, value)
			where j.id = p.job_id and u.key_no = k.key_no and j.primary_metric ~ 'loss$'
			limit 1
		) a on true
		on conflict do nothing`.execute(db);
	// The old roll-ups are rebuilt by the old writers' catch-up (a read falls back to raw rows meanwhile).

	await db.schema.dropTable('metric_key_blocks').execute();
	await db.schema.dropTable('metric_rows').execute();
	await db.schema.dropTable('metric_keys').execute();
	await db.schema.alterTable('jobs').dropColumn('metric_position').dropColumn('primary_metric').execute();
}
