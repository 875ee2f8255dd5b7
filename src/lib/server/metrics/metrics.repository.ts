import { sql } from 'kysely';
import type { Db } from '../db';
import { toKeySummary, toMetricValue, type MetricKeyRow } from './metrics.table';
import { BLOCK_STEPS, M4_STEPS } from './metric-key-blocks.repository';
import { readKeySummaries } from './metric-key-summaries.repository';
import type { ColumnGrid } from '../../training/downsample';
import type { KeySummary, MetricValue } from '../../training/metrics';

export const MAX_PAGE_SIZE = 10_000;

/** Whether a job has stored any value. */
export async function hasValues(db: Db, jobId: string): Promise<boolean> {
	const row = await db
		.selectFrom('metric_keys')
		.select('key_no')
		.where('job_id', '=', jobId)
		.limit(1)
		.executeTakeFirst();
	return row !== undefined;
}

/** Every key of a job with its summary, in the order the keys first arrived. */
export async function listKeys(db: Db, jobId: string): Promise<KeySummary[]> {
	return (await readKeySummaries(db, jobId)).map(toKeySummary);
}

export async function findKey(db: Db, jobId: string, key: string): Promise<MetricKeyRow | undefined> {
	return (await readKeySummaries(db, jobId, key))[0];
}

/**
 * One key's value in a row, and the rows that hold it. A row's keys are distinct (one value
 * per key and step in a commit), so the key's first position is its only one. Picking it
 * with array_position is 3× faster than unnesting every value of every row and keeping
 * one (100,000 rows of 20–100 keys: 340 → 100 ms).
 */
const keyValue = (keyNo: number) => sql<number>`r.vals[array_position(r.keys, ${keyNo}::smallint)]`;
const holdsKey = (keyNo: number) => sql<boolean>`${keyNo}::smallint = any(r.keys)`;

interface ValueRow {
	step: number;
	epoch: number;
	value: number;
	recorded_at: Date | string;
}

/** Values of one key with afterStep < step ≤ toStep, ascending, at most `limit`. */
export async function listKeyValues(
	db: Db,
	jobId: string,
	key: { key: string; key_no: number },
	{
		afterStep = 0,
		toStep = 2 ** 31 - 1,
		limit = MAX_PAGE_SIZE
	}: { afterStep?: number; toStep?: number; limit?: number }
): Promise<MetricValue[]> {
	const { rows } = await sql<ValueRow>`
		select r.step, r.epoch, r.recorded_at, ${keyValue(key.key_no)} as value
		from metric_rows r
		where r.job_id = ${jobId} and r.step > ${afterStep} and r.step <= ${toStep} and ${holdsKey(key.key_no)}
		order by r.step
		limit ${limit}`.execute(db);
	return rows.map((row) => toMetricValue({ ...row, key: key.key }));
}

/**
 * M4 of one key over [lo, hi] on `grid` (training/downsample.ts): each column keeps its
 * first and last value and its lowest and highest finite one. With `useBlocks`, the
 * grid's columns are whole blocks (blockAlignedGrid) and the blocks lying wholly in the
 * range are read from their stored extremes (metric_key_blocks), the rest from the raw
 * rows: because a column is a union of blocks, its extremes are among its blocks'
 * extremes, so this keeps exactly the values M4 over every row would.
 */
export async function listKeyDownsampled(
	db: Db,
	jobId: string,
	key: { key: string; key_no: number },
	lo: number,
	hi: number,
	grid: ColumnGrid,
	useBlocks: boolean
): Promise<MetricValue[]> {
	// Blocks [firstBlock, endBlock) lie wholly inside [lo, hi].
	const firstBlock = useBlocks ? Math.ceil(lo / BLOCK_STEPS) : 0;
	const endBlock = useBlocks ? Math.max(firstBlock, Math.floor((hi + 1) / BLOCK_STEPS)) : 0;
	const { rows } = await sql<ValueRow>`
		with stored as (
			select greatest(${firstBlock}, least(${endBlock}, coalesce(max(block) + 1, 0))) as raw_block
			from metric_key_blocks where job_id = ${jobId} and key_no = ${key.key_no} and block < ${endBlock}
		),
		source as (
			-- The raw rows before the first block and after the last stored one, as two index
			-- ranges: one range with both as a filter read every row between.
			select r.step, r.epoch, r.recorded_at, ${keyValue(key.key_no)} as value
			from metric_rows r
			where r.job_id = ${jobId} and ${holdsKey(key.key_no)}
				and r.step >= ${lo} and r.step <= ${hi} and r.step < ${firstBlock * BLOCK_STEPS}
			union all
			select r.step, r.epoch, r.recorded_at, ${keyValue(key.key_no)} as value
			from metric_rows r
			where r.job_id = ${jobId} and ${holdsKey(key.key_no)}
				and r.step >= greatest(${lo}, (select raw_block from stored) * ${BLOCK_STEPS}) and r.step <= ${hi}
				and r.step >= ${firstBlock * BLOCK_STEPS}
			union all
			select u.step, u.epoch, u.recorded_at, u.value
			from metric_key_blocks b, unnest(b.step, b.epoch, b.recorded_at, b.value) as u(step, epoch, recorded_at, value)
			where b.job_id = ${jobId} and b.key_no = ${key.key_no}
				and b.block >= ${firstBlock} and b.block < (select raw_block from stored)
		),
		picked as (
			select ${M4_STEPS} as steps
			from source
			group by least(${grid.count - 1}, greatest(0, ((step - ${grid.origin})::bigint * ${grid.count}) / ${grid.span}))
		)
		select step, epoch, recorded_at, value from source
		where step in (select unnest(steps) from picked)
		order by step`.execute(db);
	return rows.map((row) => toMetricValue({ ...row, key: key.key }));
}

/** How many values of a key lie in [fromStep, toStep], counting no further than `cap + 1`. */
export async function countValues(
	db: Db,
	jobId: string,
	keyNo: number,
	fromStep: number,
	toStep: number,
	cap: number
): Promise<number> {
	const { rows } = await sql<{ n: number }>`
		select count(*)::int as n from (
			select 1 from metric_rows r
			where r.job_id = ${jobId} and r.step >= ${fromStep} and r.step <= ${toStep} and ${holdsKey(keyNo)}
			limit ${cap + 1}
		) capped`.execute(db);
	return rows[0]?.n ?? 0;
}

/** The values of `key` at the given steps (the companion of a downsampled primary metric). */
export async function valuesAtSteps(
	db: Db,
	jobId: string,
	keyNo: number,
	steps: readonly number[]
): Promise<Map<number, number>> {
	if (steps.length === 0) return new Map();
	const { rows } = await sql<{ step: number; value: number }>`
		select r.step, ${keyValue(keyNo)} as value
		from metric_rows r
		where r.job_id = ${jobId} and r.step = any(${`{${steps.join(',')}}`}::integer[]) and ${holdsKey(keyNo)}`.execute(db);
	return new Map(rows.map((row) => [row.step, row.value]));
}

/**
 * A page of one key's values after `afterStep` with, for each, the companion key's value
 * at the same step (null when it has none): today's points in ONE statement. It was four
 * (both key rows, then the values, then the companion's at those steps) per page, and a
 * reconnect storm of stream clients, each reading its history page by page on the request
 * pool, queued behind its own reads for seconds.
 */
export async function listKeyValuesWithCompanion(
	db: Db,
	jobId: string,
	key: { key: string; key_no: number },
	companionNo: number | undefined,
	{ afterStep = 0, limit = MAX_PAGE_SIZE }: { afterStep?: number; limit?: number }
): Promise<(MetricValue & { companion: number | null })[]> {
	const { rows } = await sql<ValueRow & { companion: number | null }>`
		select r.step, r.epoch, r.recorded_at, ${keyValue(key.key_no)} as value,
			-- Usually in the same row; a script may have posted it apart (the same step, another row).
			coalesce(
				r.vals[array_position(r.keys, ${companionNo ?? null}::smallint)],
				(select o.vals[array_position(o.keys, ${companionNo ?? null}::smallint)] from metric_rows o
					where ${companionNo ?? null}::smallint is not null and o.job_id = r.job_id and o.step = r.step
						and o.position <> r.position and ${companionNo ?? null}::smallint = any(o.keys)
					limit 1)
			) as companion
		from metric_rows r
		where r.job_id = ${jobId} and r.step > ${afterStep} and ${holdsKey(key.key_no)}
		order by r.step
		limit ${limit}`.execute(db);
	return rows.map((row) => ({ ...toMetricValue({ ...row, key: key.key }), companion: row.companion }));
}

export interface StoredRow {
	position: number;
	step: number;
	epoch: number;
	recorded_at: Date | string;
	keys: number[];
	vals: number[];
}

/** A job's rows after `afterPosition`, in commit order (the event stream's history). */
export async function listRowsAfter(db: Db, jobId: string, afterPosition: number, limit: number): Promise<StoredRow[]> {
	const { rows } = await sql<StoredRow>`
		select position, step, epoch, recorded_at, keys, vals from metric_rows
		where job_id = ${jobId} and position > ${afterPosition}
		order by position limit ${limit}`.execute(db);
	return rows;
}

/** The job's stream position: the last row committed (0 before any). */
export async function readPosition(db: Db, jobId: string): Promise<number> {
	const row = await db.selectFrom('jobs').select('metric_position').where('id', '=', jobId).executeTakeFirst();
	return row?.metric_position ?? 0;
}

/** key_no → key of a job. */
export async function keyNames(db: Db, jobId: string): Promise<Map<number, string>> {
	const rows = await db.selectFrom('metric_keys').select(['key_no', 'key']).where('job_id', '=', jobId).execute();
	return new Map(rows.map((row) => [row.key_no, row.key]));
}
