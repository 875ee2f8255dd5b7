import { sql } from 'kysely';
import type { Db } from '../db';

/**
 * Steps per block. Small enough that the raw values read around the blocks stay few
 * (a partial block at each end), large enough that a million steps are ~3,900 rows per key.
 * Fixed by the stored data (migrations/2026-12-01T0200_named-metrics.ts).
 */
export const BLOCK_STEPS = 256;

/** A finite double (Postgres orders NaN above every number, so extremes skip non-finite values). */
export const FINITE = sql`value not in ('NaN', 'Infinity', '-Infinity')`;

/**
 * The four steps M4 keeps of a set of values of one key: first, last, lowest and highest
 * finite value (ties: the earliest step, as M4Accumulator keeps them).
 */
export const M4_STEPS = sql`array[
	min(step), max(step),
	(min(array[value, step]) filter (where ${FINITE}))[2]::integer,
	-(max(array[value, -step]) filter (where ${FINITE}))[2]::integer
]`;

/**
 * Stores the M4 extremes of every block of every key of the job that is complete (the
 * key has a later step; its steps only grow) and not stored yet. Cheap when there is
 * nothing to do, safe to run twice at once (a block is stored once), and it catches up
 * any number of missed blocks: one range scan of the job's rows for all its keys.
 */
export async function rollUpCompletedBlocks(db: Db, jobId: string): Promise<void> {
	await sql`
		with ranges as (
			select k.key_no,
				coalesce((select max(b.block) + 1 from metric_key_blocks b where b.job_id = k.job_id and b.key_no = k.key_no),
					k.first_step / ${BLOCK_STEPS}) as from_block,
				k.last_step / ${BLOCK_STEPS} as open_block
			from metric_keys k where k.job_id = ${jobId} and k.last_step is not null
		),
		todo as materialized (select * from ranges where from_block < open_block),
		vals as materialized (
			select v.key_no, r.step, r.epoch, r.recorded_at, v.value, r.step / ${BLOCK_STEPS} as block
			from metric_rows r
			cross join lateral unnest(r.keys, r.vals) as v(key_no, value)
			join todo t on t.key_no = v.key_no
			where r.job_id = ${jobId}
				and r.step >= (select min(from_block) * ${BLOCK_STEPS} from todo)
				and r.step < (select max(open_block) * ${BLOCK_STEPS} from todo)
				and r.step / ${BLOCK_STEPS} >= t.from_block and r.step / ${BLOCK_STEPS} < t.open_block
		),
		picked as (select key_no, block, ${M4_STEPS} as steps from vals group by key_no, block)
		insert into metric_key_blocks (job_id, key_no, block, step, epoch, value, recorded_at)
		select ${jobId}, p.key_no, p.block, array_agg(v.step order by v.step), array_agg(v.epoch order by v.step),
			array_agg(v.value order by v.step), array_agg(v.recorded_at order by v.step)
		from picked p join vals v on v.key_no = p.key_no and v.block = p.block and v.step = any(p.steps)
		group by p.key_no, p.block
		on conflict do nothing`.execute(db);
}
