/** Named metrics: shapes and rules shared by the server, the browser and API clients. */

/** At most this many keys per job. */
export const MAX_KEYS_PER_JOB = 1_000;
/** 1–250 letters, digits, `_ - . / :` and spaces; `/` groups (`train/loss`). */
export const KEY_PATTERN = /^[A-Za-z0-9_\-./: ]{1,250}$/;
export const DEFAULT_PRIMARY_METRIC = 'loss';
/** What a new simulated job's headline is. */
export const SIMULATED_PRIMARY_METRIC = 'train/loss';

export function isValidKey(key: string): boolean {
	return KEY_PATTERN.test(key);
}

/** Why a key is refused, in words; undefined when it is fine. */
export function keyProblem(key: unknown): string | undefined {
	if (typeof key !== 'string') return 'a metric key must be text, such as "train/loss".';
	if (key.length === 0 || key.length > 250)
		return `a metric key must be 1 to 250 characters long; "${key.slice(0, 40)}" is ${key.length}.`;
	if (!isValidKey(key))
		return `metric key "${key.slice(0, 60)}" may only hold letters, digits, "_", "-", ".", "/", ":" and spaces.`;
	return undefined;
}

/**
 * The key shown as "accuracy" next to a primary metric: the same name with `loss` at
 * its end replaced (`train/loss` → `train/accuracy`, `loss` → `accuracy`).
 */
export function companionKey(primary: string): string | undefined {
	return /loss$/.test(primary) ? primary.replace(/loss$/, 'accuracy') : undefined;
}

/** One stored value as the API returns it; a non-finite value is null with a marker. */
export interface MetricValue {
	key: string;
	step: number;
	epoch: number;
	value: number | null;
	nonFinite?: 'NaN' | 'Infinity' | '-Infinity';
	recordedAt: string;
}

/**
 * A value inside a `series` answer (GET …/metrics?key=, …/metrics/range): the series names
 * the key once, so its values do not repeat it (a long key made up a fifth of a curve's bytes).
 */
export type SeriesValue = Omit<MetricValue, 'key'>;

/** The value as a number: a stored non-finite value (null with its marker) back to NaN or ±Infinity. */
export function numericValue(value: SeriesValue): number {
	if (value.value !== null) return value.value;
	return value.nonFinite === 'Infinity' ? Infinity : value.nonFinite === '-Infinity' ? -Infinity : Number.NaN;
}

/** Values for a `series` answer. */
export const withoutKeys = (values: MetricValue[]): SeriesValue[] => values.map(({ key: _key, ...value }) => value);

/** One key of a job, as GET …/metrics/keys lists it. */
export interface KeySummary {
	key: string;
	count: number;
	firstStep: number | null;
	lastStep: number | null;
	/** null when nothing is stored, or when the last value is non-finite (see lastNonFinite). */
	lastValue: number | null;
	lastNonFinite?: 'NaN' | 'Infinity' | '-Infinity';
	/** Lowest and highest finite value. */
	min: number | null;
	max: number | null;
}

/** A committed row of a job: one step's values from one commit, at a stream position. */
export interface CommittedRow {
	position: number;
	step: number;
	epoch: number;
	recordedAt: string;
	/** key → value (NaN and ±Infinity as such). */
	values: Record<string, number>;
}

/**
 * Today's points (`{ step, epoch, loss, accuracy }`) from committed rows: the primary metric
 * as loss, its companion as accuracy. Rows without the primary metric give no point.
 */
export function legacyPoints(
	rows: readonly CommittedRow[],
	primary: string
): { step: number; epoch: number; loss: number; accuracy: number | null; recordedAt: string }[] {
	const companion = companionKey(primary);
	const points = [];
	for (const row of rows) {
		const loss = row.values[primary];
		if (loss === undefined) continue;
		const accuracy = companion === undefined ? undefined : row.values[companion];
		points.push({ step: row.step, epoch: row.epoch, loss, accuracy: accuracy ?? null, recordedAt: row.recordedAt });
	}
	return points;
}
