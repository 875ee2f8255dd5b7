import type { Generated, Insertable, Selectable } from 'kysely';
import type { CreatedAt } from '../db/database';
import type { KeySummary, MetricValue } from '../../training/metrics';

/**
 * A job's metric keys, interned: rows store key_no, never the name. The summary (count …
 * max_value) covers the job's rows up to summary_position only: the write statement does
 * not touch it (a row per key per commit was its largest cost); read it through
 * metric-key-summaries.repository, which adds the rows after it.
 */
export interface MetricKeysTable {
	job_id: string;
	/** 0 … 999, in the order the keys first arrived. */
	key_no: number;
	key: string;
	/** The job position (metric_rows.position) up to which count … max_value include values. */
	summary_position: Generated<number>;
	count: number;
	first_step: number | null;
	last_step: number | null;
	/** The value at last_step; NaN or ±Infinity when that was stored. */
	last_value: number | null;
	/** Lowest and highest finite value (null while there is none). */
	min_value: number | null;
	max_value: number | null;
}

/**
 * One row per job, step and commit: the values of that step as parallel arrays (key
 * numbers and doubles). `position` orders a job's rows by commit (1, 2, 3 …): the event
 * stream resumes from it. Chosen over a row per value by measurement (BENCHMARKS.md).
 */
export interface MetricRowsTable {
	job_id: string;
	position: number;
	step: number;
	epoch: number;
	recorded_at: CreatedAt;
	keys: number[];
	vals: number[];
}

/** The M4 extremes (first, last, lowest, highest) of one key's completed block of steps. */
export interface MetricKeyBlocksTable {
	job_id: string;
	key_no: number;
	block: number;
	step: number[];
	epoch: number[];
	value: number[];
	recorded_at: Date[];
}

export type MetricKeyRow = Selectable<MetricKeysTable>;
export type MetricRow = Selectable<MetricRowsTable>;
export type NewMetricRow = Insertable<MetricRowsTable>;

const iso = (value: Date | string) => new Date(value).toISOString();

/** A stored value as the API shows it: non-finite values are null with a marker (JSON has no NaN). */
export function toMetricValue(row: {
	key: string;
	step: number;
	epoch: number;
	value: number;
	recorded_at: Date | string;
}): MetricValue {
	return finiteOrMarked({
		key: row.key,
		step: row.step,
		epoch: row.epoch,
		value: row.value,
		recordedAt: iso(row.recorded_at)
	});
}

export function finiteOrMarked(value: {
	key: string;
	step: number;
	epoch: number;
	value: number;
	recordedAt: string;
}): MetricValue {
	if (Number.isFinite(value.value)) return value;
	return { ...value, value: null, nonFinite: nonFiniteName(value.value) };
}

export function nonFiniteName(value: number): 'NaN' | 'Infinity' | '-Infinity' {
	return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

export function toKeySummary(row: MetricKeyRow): KeySummary {
	const last = row.last_value;
	return {
		key: row.key,
		count: row.count,
		firstStep: row.first_step,
		lastStep: row.last_step,
		lastValue: last !== null && Number.isFinite(last) ? last : null,
		...(last !== null && !Number.isFinite(last) ? { lastNonFinite: nonFiniteName(last) } : {}),
		min: row.min_value,
		max: row.max_value
	};
}
