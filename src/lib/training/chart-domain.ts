/**
 * Scales and tick labels for the loss chart. Pure, so the rules that keep the chart still
 * while points stream in can be tested without a browser.
 *
 * The y axis must not jump on every point: its top is a "nice" number (a multiple of a
 * 1-2-2.5-5 step, with ~10% headroom) that only moves when the data climbs past it.
 */

import { formatTinyTick } from '../chart/domain';

/** Fraction of the maximum added above it before rounding up. */
export const HEADROOM = 0.1;
/** The y axis is cut into at most this many intervals (so 4-7 labelled ticks). */
const TARGET_INTERVALS = 6;
/** Below this share of the current top the data is a new series (another job), not a dip. */
const RESET_RATIO = 0.25;
/** Top of the y axis when there is nothing finite to show. */
export const EMPTY_UPPER = 1;

const MANTISSAS = [1, 2, 2.5, 5, 10] as const;

interface Step {
	mantissa: number;
	exponent: number;
}

/** The smallest 1-2-2.5-5 × 10^k step at or above `raw`. */
function niceStepAtLeast(raw: number): Step {
	let exponent = Math.floor(Math.log10(raw));
	let mantissa = MANTISSAS.find((m) => m * 10 ** exponent >= raw * (1 - 1e-12)) ?? 10;
	if (mantissa === 10) {
		mantissa = 1;
		exponent += 1;
	}
	return { mantissa, exponent };
}

/** k · mantissa · 10^exponent without the binary noise of 0.1 + 0.2 (dividing by 10^-e is exact-ish). */
function multiple(k: number, { mantissa, exponent }: Step): number {
	return exponent < 0 ? (k * mantissa) / 10 ** -exponent : k * mantissa * 10 ** exponent;
}

function stepOf(upper: number): Step {
	return niceStepAtLeast(upper / TARGET_INTERVALS);
}

/** The next smaller step in the 1-2-2.5-5 sequence. */
function smallerStep({ mantissa, exponent }: Step): Step {
	const index = MANTISSAS.indexOf(mantissa as (typeof MANTISSAS)[number]);
	return index > 0 ? { mantissa: MANTISSAS[index - 1]!, exponent } : { mantissa: 5, exponent: exponent - 1 };
}

/** The tick step of an axis topped at `upper`: about TARGET_INTERVALS of them, dividing it exactly. */
function tickStepOf(upper: number): Step {
	let step = stepOf(upper);
	for (let guard = 0; guard < 12; guard++) {
		const count = upper / multiple(1, step);
		if (Math.abs(count - Math.round(count)) < 1e-6) return step;
		step = smallerStep(step);
	}
	return step;
}

/**
 * A round number at least `max · (1 + HEADROOM)`: a whole multiple of a nice step chosen so the
 * axis has about five intervals. Monotone in `max`. 2.5 → 3, 0.05 → 0.06, 9000 → 10000.
 * Returns EMPTY_UPPER for a maximum that is not a positive finite number.
 */
export function niceUpperBound(max: number): number {
	if (!Number.isFinite(max) || max <= 0) return EMPTY_UPPER;
	const target = max * (1 + HEADROOM);
	const step = stepOf(target);
	const size = multiple(1, step);
	// The epsilon keeps 0.3 / 0.1 = 2.9999999999999996 from being read as just above 3.
	const k = Math.max(1, Math.ceil(target / size - 1e-9));
	return multiple(k, step);
}

/**
 * The y-axis top to use next, given the one in use (`previous`, undefined at first) and the
 * largest finite loss now on screen. It stays put while `max` fits under it, so the chart does
 * not rescale on every point; it grows (to `niceUpperBound(max)`) only when `max` exceeds it;
 * and it starts afresh when `max` falls far below it, which happens only when the points belong
 * to another run (the page reuses the chart across jobs) since a running maximum never drops.
 */
export function stableUpperBound(previous: number | undefined, max: number): number {
	if (!Number.isFinite(max) || max <= 0) return previous ?? EMPTY_UPPER;
	if (previous !== undefined && Number.isFinite(previous) && max <= previous && max >= previous * RESET_RATIO) {
		return previous;
	}
	return niceUpperBound(max);
}

/** Largest finite loss, or -Infinity when there is none (empty, or every loss NaN). */
export function maxFiniteLoss(points: readonly { loss: number }[]): number {
	let max = -Infinity;
	for (const point of points) if (Number.isFinite(point.loss) && point.loss > max) max = point.loss;
	return max;
}

/** Tick values 0, step, 2·step, … up to `upper` (a value from niceUpperBound). */
export function lossTicks(upper: number): number[] {
	const step = tickStepOf(upper);
	const size = multiple(1, step);
	const count = Math.round(upper / size);
	return Array.from({ length: count + 1 }, (_, k) => multiple(k, step));
}

/** Decimals that tell the ticks of an axis topped at `upper` apart (0.5 → 1, 0.25 → 2, 2000 → 0). */
export function lossTickDecimals(upper: number): number {
	const { mantissa, exponent } = tickStepOf(upper);
	const decimals = -exponent + (mantissa === 2.5 ? 1 : 0);
	return Math.max(0, decimals);
}

/** 950 → "950", 1200 → "1.2k", 12_000 → "12k", 1_500_000 → "1.5M". Integers below 1000 stay whole. */
export function formatCompact(value: number): string {
	const abs = Math.abs(value);
	const short = (n: number, suffix: string) => `${Number(n.toFixed(1))}${suffix}`;
	if (abs >= 1e6) return short(value / 1e6, 'M');
	if (abs >= 1e3) return short(value / 1e3, 'k');
	return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(2)));
}

/** Label for a loss tick on an axis topped at `upper`: few decimals, compact when large. */
export function formatLossTick(value: number, upper: number): string {
	if (upper >= 1e3) return formatCompact(value);
	// A learning rate's 0.00012 is wider than the space beside the axis (the title overlapped it).
	if (upper > 0 && upper < 1e-3) return formatTinyTick(value);
	return value.toFixed(lossTickDecimals(upper));
}

/** x domain fixed to the run: [0, max(totalSteps, last step)], never empty. */
export function stepDomain(points: readonly { step: number }[], totalSteps: number): [number, number] {
	const last = points.length > 0 ? points[points.length - 1]!.step : 0;
	const end = Math.max(Number.isFinite(totalSteps) ? totalSteps : 0, Number.isFinite(last) ? last : 0);
	return [0, end > 0 ? end : 1];
}

/** Whole-number step ticks for the x axis, about one per `spacing` pixels. */
export function stepTicks([start, end]: [number, number], width: number, spacing = 80): number[] {
	const count = Math.max(2, Math.floor(width / spacing));
	const raw = (end - start) / count;
	const step = Math.max(1, multiple(1, niceStepAtLeast(raw)));
	const ticks: number[] = [];
	for (let k = 0; start + k * step <= end + 1e-9; k++) {
		const value = start + k * step;
		if (Number.isInteger(Math.round(value * 1e9) / 1e9)) ticks.push(Math.round(value));
	}
	return ticks;
}

/**
 * SVG path data ("M x,y L x,y …") through the points that `y` maps to a finite value, in pixels.
 * Built in one plain loop rather than through per-point reactive accessors: with 8,000 points
 * arriving several times a second, this is most of the cost of a redraw. Points whose value is
 * missing (null, NaN) are skipped, so the line joins its neighbours; coordinates are rounded to
 * 0.1 px, which is invisible and keeps the string short.
 */
export function linePath<T>(points: readonly T[], x: (point: T) => number, y: (point: T) => number | null): string {
	const parts: string[] = [];
	for (const point of points) {
		const value = y(point);
		if (value === null || !Number.isFinite(value)) continue;
		const px = x(point);
		if (!Number.isFinite(px)) continue;
		parts.push(`${parts.length === 0 ? 'M' : 'L'}${round1(px)},${round1(value)}`);
	}
	return parts.join('');
}

/** Closes a line from linePath down to the baseline `y0`, giving the area under it. */
export function areaPath(line: string, y0: number): string {
	if (line === '') return '';
	const first = line.slice(1, line.indexOf(','));
	const lastStart = Math.max(line.lastIndexOf('L'), 0);
	const last = line.slice(lastStart + 1, line.indexOf(',', lastStart));
	const base = round1(y0);
	return `${line}L${last},${base}L${first},${base}Z`;
}

function round1(value: number): number {
	return Math.round(value * 10) / 10;
}

/**
 * Ticks (fractions 0–1) for the accuracy axis drawn beside a loss axis of `intervals` equal
 * intervals: only the loss grid lines that fall on a round percentage (a multiple of 10% or
 * 25%), so every accuracy label sits on a grid line. 4 → 0, 25, 50, 75, 100%; 5 → every 20%;
 * 6 → 0, 50, 100%.
 */
export function accuracyTicks(intervals: number): number[] {
	const n = Math.max(1, Math.round(intervals));
	const ticks: number[] = [];
	for (let k = 0; k <= n; k++) {
		const percent = (k * 100) / n;
		const round = (p: number, m: number) => Math.abs(p / m - Math.round(p / m)) < 1e-9;
		if (round(percent, 10) || round(percent, 25)) ticks.push(Math.round(percent * 1e6) / 1e8);
	}
	return ticks;
}

/*
 * Log scale. Loss is positive, but a value of 0 or below (or a run that reports one) has no
 * place on a log axis: such points are drawn at the bottom of the axis (clamped) and the chart
 * says how many. Like the linear top, the log domain only widens as points arrive: it moves a
 * whole decade at a time, and starts afresh only for another run's points.
 */

/** Smallest finite loss above zero, or Infinity when there is none. */
export function minPositiveLoss(points: readonly { loss: number }[]): number {
	let min = Infinity;
	for (const point of points) if (Number.isFinite(point.loss) && point.loss > 0 && point.loss < min) min = point.loss;
	return min;
}

/** How many points have a finite loss of zero or less (drawn clamped on a log axis). */
export function countNonPositive(points: readonly { loss: number }[]): number {
	let count = 0;
	for (const point of points) if (Number.isFinite(point.loss) && point.loss <= 0) count++;
	return count;
}

/** The log domain before any data: one decade around a typical loss. */
export const EMPTY_LOG_DOMAIN: [number, number] = [0.1, 1];

/** Whole decades around [min, max], at least one decade wide (a decade line is headroom enough). */
export function niceLogDomain(min: number, max: number): [number, number] {
	if (!(min > 0) || !Number.isFinite(min) || !(max > 0) || !Number.isFinite(max)) return [...EMPTY_LOG_DOMAIN];
	const lower = Math.floor(Math.log10(min) + 1e-9);
	let upper = Math.ceil(Math.log10(Math.max(max, min)) - 1e-9);
	if (upper <= lower) upper = lower + 1;
	return [decade(lower), decade(upper)];
}

/**
 * The log domain to use next, given the one in use: kept while [min, max] fits inside it,
 * widened to whole decades when it does not, rebuilt when the data sits two or more decades
 * inside it on either side (another run's points).
 */
export function stableLogDomain(previous: [number, number] | undefined, min: number, max: number): [number, number] {
	if (!(min > 0) || !Number.isFinite(min) || !(max > 0) || !Number.isFinite(max))
		return previous ?? [...EMPTY_LOG_DOMAIN];
	const wanted = niceLogDomain(min, max);
	if (!previous) return wanted;
	const [lo, hi] = previous;
	const fits = min >= lo && max <= hi * (1 + 1e-9);
	const far = min >= lo * 100 || max * 100 <= hi;
	if (fits && !far) return previous;
	if (far) return wanted;
	return [Math.min(lo, wanted[0]), Math.max(hi, wanted[1])];
}

/** 10^k without binary noise for negative k. */
function decade(exponent: number): number {
	return exponent < 0 ? Number(`1e${exponent}`) : 10 ** exponent;
}

/** Ticks of a log axis: each power of ten, plus 2 and 5 times it when the axis spans at most two decades. */
export function logTicks([lo, hi]: [number, number]): number[] {
	const from = Math.round(Math.log10(lo));
	const to = Math.round(Math.log10(hi));
	const dense = to - from <= 2;
	const ticks: number[] = [];
	for (let k = from; k <= to; k++) {
		for (const m of dense ? [1, 2, 5] : [1]) {
			const value = Number((m * decade(k)).toPrecision(6));
			if (value >= lo * (1 - 1e-9) && value <= hi * (1 + 1e-9)) ticks.push(value);
		}
	}
	return ticks;
}

/** 0.001 → "0.001", 0.5 → "0.5", 20 → "20", 10000 → "10k", 1e-6 → "1e-6". */
export function formatLogTick(value: number): string {
	if (value >= 1) return formatCompact(value);
	if (value >= 1e-4) return String(Number(value.toPrecision(6)));
	return value.toExponential(0);
}

/** Indices of at most `count` points spread evenly from the first to the last (for a data table). */
export function sampleIndices(length: number, count: number): number[] {
	if (length <= 0 || count <= 0) return [];
	if (length <= count) return Array.from({ length }, (_, i) => i);
	if (count === 1) return [length - 1];
	const indices = new Set<number>();
	for (let k = 0; k < count; k++) indices.add(Math.round((k * (length - 1)) / (count - 1)));
	return [...indices];
}
