import { sql } from 'kysely';
import type { Db } from '../db';
import type { ColumnGrid } from '../../training/downsample';
import type { MetricPoint } from '../../training/job';

/**
 * Steps per block. Small enough that the raw points read around the blocks stay few
 * (a partial block at each end), large enough that a million points are ~3,900 rows.
 * Fixed by the stored data (migrations/2026-11-29T0100_metric-blocks.ts).
 */
export const BLOCK_STEPS = 256;

/**
 * Stores the M4 extremes of every block of the job that is complete (a later step
 * exists; steps only grow) and not stored yet. Called on the write path when a block
 * fills up; cheap (two index lookups) when there is nothing to do, safe to run twice
 * at once (a block is stored once), and it catches up any number of missed blocks.
 */
export async function rollUpCompletedBlocks(db: Db, jobId: string): Promise<void> {
	await sql`
		with bounds as (
			select
				coalesce((select max(block) + 1 from metric_blocks where job_id = ${jobId}), 0) * ${BLOCK_STEPS} as from_step,
				(select max(step) from metrics where job_id = ${jobId}) / ${BLOCK_STEPS} * ${BLOCK_STEPS} as open_block_step
		),
		picked as (
			select
				m.step / ${BLOCK_STEPS} as block,
				array[
					min(m.step),
					max(m.step),
					(min(array[m.loss, m.step]))[2]::integer,
					(max(array[m.loss, m.step]))[2]::integer,
					(min(array[m.accuracy, m.step]) filter (where m.accuracy is not null))[2]::integer,
					(max(array[m.accuracy, m.step]) filter (where m.accuracy is not null))[2]::integer
				] as steps
			from metrics m, bounds b
			where m.job_id = ${jobId} and m.step >= b.from_step and m.step < b.open_block_step
			group by 1
		)
		insert into metric_blocks (job_id, block, step, epoch, loss, accuracy, recorded_at)
		select ${jobId}, p.block,
			array_agg(m.step order by m.step), array_agg(m.epoch order by m.step), array_agg(m.loss order by m.step),
			array_agg(m.accuracy order by m.step), array_agg(m.recorded_at order by m.step)
		from picked p
		-- Each block's six rows looked up by the primary key. OFFSET 0 keeps the planner from
		-- turning this into a join, which without statistics (a table just filled) it did as a
		-- rescan of all the job's rows once per block.
		cross join lateral (
			select step, epoch, loss, accuracy, recorded_at from metrics
			where job_id = ${jobId} and step = any(p.steps)
			offset 0
		) m
		group by p.block
		on conflict do nothing`.execute(db);
}

/**
 * M4 (see training/downsample.ts) of a job's points after `afterStep` on a grid whose
 * columns are whole blocks (`blockAlignedGrid`), computed from the stored extremes of
 * the blocks that lie wholly after `afterStep` plus the raw points before the first
 * such block and after the last stored one. Because a column is a union of blocks, its
 * extremes are among its blocks' extremes, so this keeps exactly the points M4 over
 * every row would: only ~6 rows per block are read, and only the kept ones are sent.
 * Ties keep the earliest step, as M4Accumulator does.
 */
export async function listDownsampledFromBlocks(
	db: Db,
	jobId: string,
	afterStep: number,
	grid: ColumnGrid
): Promise<MetricPoint[]> {
	const firstBlock = Math.ceil((afterStep + 1) / BLOCK_STEPS);
	const { rows } = await sql<{
		step: number;
		epoch: number;
		loss: number;
		accuracy: number | null;
		recorded_at: Date | string;
	}>`
		with stored as (
			select greatest(coalesce(max(block) + 1, 0), ${firstBlock}) * ${BLOCK_STEPS} as raw_from
			from metric_blocks where job_id = ${jobId}
		),
		source as (
			select step, epoch, loss, accuracy, recorded_at from metrics
			where job_id = ${jobId} and step > ${afterStep} and step < ${firstBlock * BLOCK_STEPS}
			union all
			select u.step, u.epoch, u.loss, u.accuracy, u.recorded_at
			from metric_blocks b, unnest(b.step, b.epoch, b.loss, b.accuracy, b.recorded_at) as u(step, epoch, loss, accuracy, recorded_at)
			where b.job_id = ${jobId} and b.block >= ${firstBlock}
			union all
			select step, epoch, loss, accuracy, recorded_at from metrics
			where job_id = ${jobId} and step >= (select raw_from from stored) and step >= ${firstBlock * BLOCK_STEPS}
		),
		picked as (
			select array[
				min(step),
				max(step),
				(min(array[loss, step]))[2]::integer,
				-(max(array[loss, -step]))[2]::integer,
				(min(array[accuracy, step]) filter (where accuracy is not null))[2]::integer,
				-(max(array[accuracy, -step]) filter (where accuracy is not null))[2]::integer
			] as steps
			from source
			group by least(${grid.count - 1}, greatest(0, ((step - ${grid.origin})::bigint * ${grid.count}) / ${grid.span}))
		)
		select step, epoch, loss, accuracy, recorded_at from source
		where step in (select unnest(steps) from picked)
		order by step`.execute(db);
	return rows.map((row) => ({
		step: row.step,
		epoch: row.epoch,
		loss: row.loss,
		accuracy: row.accuracy,
		recordedAt: new Date(row.recorded_at).toISOString()
	}));
}
