import { sql } from 'kysely';
import type { Db } from '../db';
import type { MetricsQuery } from './metrics-query';
import {
	countValues,
	listKeyDownsampled,
	listKeyValues,
	listKeyValuesWithCompanion,
	findKey,
	valuesAtSteps,
	MAX_PAGE_SIZE
} from './metrics.repository';
import type { MetricKeyRow } from './metrics.table';
import { BLOCK_STEPS } from './metric-key-blocks.repository';
import { keySummariesSql } from './metric-key-summaries.repository';
import { blockAlignedGrid, evenGrid, VALUES_PER_COLUMN } from '../../training/downsample';
import type { MetricPoint } from '../../training/job';
import { companionKey, numericValue, withoutKeys, type MetricValue, type SeriesValue } from '../../training/metrics';

/** Fewer values than one per this many steps: a sparse key, read from its block extremes (see readKeyCurve). */
const SPARSE_STEPS_PER_VALUE = 8;

/**
 * One key's values over [fromStep, toStep] in at most `maxPoints`: every value when they
 * fit (unless the key is sparse over a long range, below), else M4. Long ranges are drawn
 * from the stored block extremes on block-aligned columns (exactly the values M4 over every
 * row keeps, from ~4 values per 256 steps); ranges where block-wide columns would be too
 * coarse are downsampled from the rows.
 */
export async function readKeyCurve(
	db: Db,
	jobId: string,
	key: string,
	maxPoints: number,
	fromStep = 1,
	toStep = 2 ** 31 - 1
): Promise<MetricValue[]> {
	const row = await findKey(db, jobId, key);
	if (!row || row.first_step === null || row.last_step === null) return [];
	const lo = Math.max(fromStep, row.first_step);
	const hi = Math.min(toStep, row.last_step);
	if (lo > hi) return [];
	const steps = hi - lo + 1;
	const columns = Math.max(1, Math.floor(maxPoints / VALUES_PER_COLUMN));
	// Block-wide columns must still give at least half the resolution asked for.
	const blocksFineEnough = steps >= (columns * BLOCK_STEPS) / 2;
	// A sparse key (val/* every 100 steps) has few values among many rows: reading them means
	// unnesting every row of the range (a second for 100,000 steps of 100 keys), while its
	// block extremes draw the same picture at this width from a row per 256 steps.
	const sparse = blocksFineEnough && steps > SPARSE_STEPS_PER_VALUE * row.count;
	if ((row.count <= maxPoints || steps <= maxPoints) && !sparse) {
		const page = await listKeyValues(db, jobId, row, { afterStep: lo - 1, toStep: hi, limit: maxPoints + 1 });
		if (page.length <= maxPoints) return page;
	}
	if (!blocksFineEnough) return listKeyDownsampled(db, jobId, row, lo, hi, evenGrid(lo, hi, columns), false);
	return listKeyDownsampled(db, jobId, row, lo, hi, blockAlignedGrid(lo, hi, columns, BLOCK_STEPS), true);
}

/** A range read's answer: `raw` when every stored value of the range is in it. */
export interface KeyRange {
	key: string;
	fromStep: number;
	toStep: number;
	width: number;
	resolution: 'raw' | 'downsampled';
	values: SeriesValue[];
}

/**
 * One key over [fromStep, toStep] at full resolution for a chart `width` pixels wide (a
 * zoom): every value once the range is no more steps than pixels (or holds no more values
 * than M4 would keep), else M4 over the range with a column per pixel. The stored block
 * extremes make a wide range as cheap as a narrow one.
 */
export async function readKeyRange(
	db: Db,
	jobId: string,
	{ key, fromStep, toStep, width }: { key: string; fromStep: number; toStep: number; width: number }
): Promise<KeyRange> {
	const row = await findKey(db, jobId, key);
	const answer = { key, fromStep, toStep, width };
	if (!row) return { ...answer, resolution: 'raw', values: [] };
	const maxPoints = width * VALUES_PER_COLUMN;
	if (toStep - fromStep + 1 <= width) {
		const values = await listKeyValues(db, jobId, row, { afterStep: fromStep - 1, toStep, limit: width });
		return { ...answer, resolution: 'raw', values: withoutKeys(values) };
	}
	const values = await readKeyCurve(db, jobId, key, maxPoints, Math.max(1, fromStep), toStep);
	// readKeyCurve answers every value when they fit; M4 keeps fewer than the range holds.
	const stored = await countValues(db, jobId, row.key_no, fromStep, toStep, maxPoints);
	return { ...answer, resolution: stored > values.length ? 'downsampled' : 'raw', values: withoutKeys(values) };
}

async function withCompanion(db: Db, jobId: string, primary: string, values: MetricValue[]): Promise<MetricPoint[]> {
	const companion = companionKey(primary);
	const companionRow = companion === undefined ? undefined : await findKey(db, jobId, companion);
	const accuracy = companionRow
		? await valuesAtSteps(
				db,
				jobId,
				companionRow.key_no,
				values.map((v) => v.step)
			)
		: new Map<number, number>();
	return values.map((v) => ({
		step: v.step,
		epoch: v.epoch,
		loss: numericValue(v),
		accuracy: accuracy.get(v.step) ?? null,
		recordedAt: v.recordedAt
	}));
}

/**
 * Today's curve (`{ step, epoch, loss, accuracy }`) of a job: its primary metric as loss,
 * downsampled as above, with the companion's value (accuracy) at the same steps.
 */
export async function readCurve(
	db: Db,
	job: { id: string; primaryMetric: string },
	maxPoints: number,
	afterStep = 0
): Promise<MetricPoint[]> {
	const values = await readKeyCurve(db, job.id, job.primaryMetric, maxPoints, afterStep + 1);
	return withCompanion(db, job.id, job.primaryMetric, values);
}

/** The key rows a page of today's points reads: the primary metric and its companion (accuracy). */
export interface PointKeys {
	primary: MetricKeyRow | undefined;
	companion: MetricKeyRow | undefined;
}

/**
 * Both key rows in one statement, with their complete summaries (the stored ones lag the
 * writes: metric-key-summaries.repository.ts). A stream finds them once, not once per page.
 */
export async function findPointKeys(db: Db, job: { id: string; primaryMetric: string }): Promise<PointKeys> {
	const companion = companionKey(job.primaryMetric);
	const names = companion === undefined ? [job.primaryMetric] : [job.primaryMetric, companion];
	const { rows } = await keySummariesSql(job.id, sql`k.key = any(${names}::text[])`).execute(db);
	return {
		primary: rows.find((row) => row.key === job.primaryMetric),
		companion: companion === undefined ? undefined : rows.find((row) => row.key === companion)
	};
}

/**
 * A page of today's points: the primary metric's values after `afterStep`, with the
 * companion's. `keys` from findPointKeys() saves that statement (the keys are looked up
 * again while one of them does not exist yet: a script may send accuracy only later).
 */
export async function listPoints(
	db: Db,
	job: { id: string; primaryMetric: string },
	{ afterStep = 0, limit = MAX_PAGE_SIZE }: { afterStep?: number; limit?: number } = {},
	keys?: PointKeys
): Promise<MetricPoint[]> {
	const known = keys?.primary !== undefined && (keys.companion || companionKey(job.primaryMetric) === undefined);
	const { primary, companion } = known ? keys! : await findPointKeys(db, job);
	if (keys && !known) Object.assign(keys, { primary, companion });
	if (!primary) return [];
	const values = await listKeyValuesWithCompanion(db, job.id, primary, companion?.key_no, { afterStep, limit });
	return values.map((v) => ({
		step: v.step,
		epoch: v.epoch,
		loss: numericValue(v),
		accuracy: v.companion,
		recordedAt: v.recordedAt
	}));
}

/**
 * What GET …/metrics answers: today's points of the primary metric (no key), or per
 * key its raw page or its downsampled range. A key the job does not have answers [].
 */
export async function readMetrics(
	db: Db,
	job: { id: string; primaryMetric: string },
	query: MetricsQuery
): Promise<{ metrics: MetricPoint[] } | { series: { key: string; values: SeriesValue[] }[] }> {
	if (!query.keys) {
		const metrics = query.maxPoints
			? await readCurve(db, job, query.maxPoints, query.afterStep)
			: await listPoints(db, job, query);
		return { metrics };
	}
	const series = [];
	for (const key of query.keys) {
		if (query.maxPoints) {
			const values = await readKeyCurve(db, job.id, key, query.maxPoints, query.fromStep, query.toStep);
			series.push({ key, values: withoutKeys(values) });
			continue;
		}
		const row = await findKey(db, job.id, key);
		const values = row
			? await listKeyValues(db, job.id, row, {
					afterStep: Math.max(query.afterStep, query.fromStep - 1),
					toStep: query.toStep,
					limit: query.limit
				})
			: [];
		series.push({ key, values: withoutKeys(values) });
	}
	return { series };
}
