/**
 * The chart module's maths beyond the loss chart's stable axes (training/chart-domain.ts):
 * a y range that follows the bulk of several series, a tight "nice" domain for a zoomed
 * view, ticks and labels for any domain, zoom arithmetic and the nearest point to a step.
 * Pure, so it is tested without a browser.
 */

/** The quantiles that stand for a series' bulk: its top and bottom 2 % are its own spikes. */
const BULK_LOW = 0.02;
const BULK_HIGH = 0.98;
/** A series whose bulk lies this many "typical spreads" beyond the others' is an outlier. */
const OUTLIER_SPREADS = 3;
/** Room given above and below the bulk, in typical spreads, before a value counts as out of range. */
const BULK_MARGIN = 0.25;

export interface RobustRange {
	lo: number;
	hi: number;
	/** Every finite value's extent: what "include outliers" shows. */
	min: number;
	max: number;
	/** Indices of the series left out of the range as a whole (a diverged run). */
	outliers: number[];
}

function quantile(sorted: readonly number[], q: number): number {
	if (sorted.length === 1) return sorted[0]!;
	const at = q * (sorted.length - 1);
	const below = Math.floor(at);
	const above = Math.min(sorted.length - 1, below + 1);
	return sorted[below]! + (sorted[above]! - sorted[below]!) * (at - below);
}

/** The lower middle of the values: with two series it sides with the lower one (a loss that diverged went up). */
function lowerMedian(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** At most this many values of a series are sorted for its quantiles (an even stride over the rest). */
const SAMPLE = 4_000;

function finiteSorted(values: readonly number[]): number[] {
	const stride = Math.max(1, Math.floor(values.length / SAMPLE));
	const out: number[] = [];
	for (let i = 0; i < values.length; i += stride) if (Number.isFinite(values[i]!)) out.push(values[i]!);
	return out.sort((a, b) => a - b);
}

/**
 * The y range of several series that follows the bulk of the data: each series' bulk is its
 * 2nd to 98th percentile (so one spike does not stretch it); a series whose bulk lies far
 * beyond the typical series' (a diverged run) is left out; the range is the remaining bulks
 * with a little room, never wider than the values themselves. Undefined when no value is finite.
 */
export function robustRange(series: readonly (readonly number[])[]): RobustRange | undefined {
	const bulks: { index: number; lo: number; hi: number; min: number; max: number }[] = [];
	let min = Infinity;
	let max = -Infinity;
	series.forEach((values, index) => {
		const sorted = finiteSorted(values);
		let ownMin = Infinity;
		let ownMax = -Infinity;
		for (const value of values) {
			if (!Number.isFinite(value)) continue;
			if (value < ownMin) ownMin = value;
			if (value > ownMax) ownMax = value;
		}
		if (sorted.length === 0) return;
		min = Math.min(min, ownMin);
		max = Math.max(max, ownMax);
		bulks.push({ index, lo: quantile(sorted, BULK_LOW), hi: quantile(sorted, BULK_HIGH), min: ownMin, max: ownMax });
	});
	if (bulks.length === 0) return undefined;
	const top = lowerMedian(bulks.map((b) => b.hi));
	const bottom = lowerMedian(bulks.map((b) => b.lo));
	const spread = Math.max(top - bottom, Math.abs(top) * 0.1, Math.abs(bottom) * 0.1, 1e-12);
	const inliers = bulks.filter(
		(b) => b.hi <= top + OUTLIER_SPREADS * spread && b.lo >= bottom - OUTLIER_SPREADS * spread
	);
	const outliers = bulks.filter((b) => !inliers.includes(b)).map((b) => b.index);
	let lo = Infinity;
	let hi = -Infinity;
	for (const b of inliers) {
		lo = Math.min(lo, Math.max(b.min, b.lo - BULK_MARGIN * spread));
		hi = Math.max(hi, Math.min(b.max, b.hi + BULK_MARGIN * spread));
	}
	return { lo, hi, min, max, outliers };
}

const MANTISSAS = [1, 2, 2.5, 5, 10];

/** The smallest 1-2-2.5-5 × 10^k at or above `raw`. */
export function niceStep(raw: number): number {
	if (!(raw > 0) || !Number.isFinite(raw)) return 1;
	const exponent = Math.floor(Math.log10(raw));
	const base = 10 ** exponent;
	const mantissa = MANTISSAS.find((m) => m * base >= raw * (1 - 1e-12)) ?? 10;
	return Number((mantissa * base).toPrecision(12));
}

/** Intervals a y axis is cut into. */
const Y_INTERVALS = 5;

/**
 * A domain on round numbers around [lo, hi], for a zoomed view that should show detail
 * rather than start at zero. A flat series gets room around its value.
 */
export function niceDomain(lo: number, hi: number): [number, number] {
	if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
	if (hi < lo) [lo, hi] = [hi, lo];
	if (hi - lo < Math.max(Math.abs(hi), 1e-9) * 1e-9) {
		const pad = Math.abs(hi) > 0 ? Math.abs(hi) * 0.05 : 1;
		lo -= pad;
		hi += pad;
	}
	const step = niceStep((hi - lo) / Y_INTERVALS);
	const from = Math.floor(lo / step + 1e-9) * step;
	const to = Math.ceil(hi / step - 1e-9) * step;
	return [Number(from.toPrecision(12)), Number(to.toPrecision(12))];
}

/** Round ticks inside [lo, hi], about Y_INTERVALS of them. */
export function linearTicks([lo, hi]: [number, number], intervals = Y_INTERVALS): number[] {
	if (!(hi > lo)) return [lo];
	const step = niceStep((hi - lo) / intervals);
	const ticks: number[] = [];
	for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
		ticks.push(Number((k * step).toPrecision(12)));
	}
	return ticks;
}

/** A label for ticks of a domain: as many decimals as its step needs, compact when large, exponent when tiny. */
export function tickFormat([lo, hi]: [number, number]): (value: number) => string {
	const step = niceStep((hi - lo) / Y_INTERVALS);
	const largest = Math.max(Math.abs(lo), Math.abs(hi));
	if (largest >= 1e4) return compact;
	if (largest > 0 && largest < 1e-3) return formatTinyTick;
	const decimals = Math.max(
		0,
		Math.min(8, Math.ceil(-Math.log10(step) - 1e-9) + (String(step).includes('25') ? 1 : 0))
	);
	return (value) => value.toFixed(decimals);
}

/**
 * A tick of a range below 1e-3 (a learning rate) with an exponent, with as many digits as the
 * tick has (1.25e-4, not a rounded 1.3e-4; at least one: 2.0e-4).
 */
export function formatTinyTick(value: number): string {
	if (value === 0) return '0';
	const mantissa = Number((value / 10 ** Math.floor(Math.log10(Math.abs(value)))).toPrecision(6));
	const digits = String(mantissa).split('.')[1]?.length ?? 0;
	return value.toExponential(Math.max(1, digits));
}

function compact(value: number): string {
	const abs = Math.abs(value);
	if (abs >= 1e9) return `${Number((value / 1e9).toFixed(1))}G`;
	if (abs >= 1e6) return `${Number((value / 1e6).toFixed(1))}M`;
	if (abs >= 1e3) return `${Number((value / 1e3).toFixed(1))}k`;
	return String(Number(value.toFixed(2)));
}

/** A value for a tooltip or a table: four significant digits, or an exponent for very small or large ones. */
export function formatValue(value: number | null | undefined): string {
	if (typeof value !== 'number') return '—';
	if (Number.isNaN(value)) return 'NaN';
	if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
	const abs = Math.abs(value);
	if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
	return String(Number(value.toPrecision(5)));
}

/*
 * Zoom. A zoomed view is a step range [from, to] inside the chart's whole x domain; it is
 * at least MIN_ZOOM_STEPS wide (a narrower one shows one point or none).
 */
export const MIN_ZOOM_STEPS = 4;

export type StepRange = [number, number];

/** The step range a drag from `a` to `b` (x values, either order) selects, kept inside `domain`. */
export function dragRange(a: number, b: number, domain: StepRange): StepRange | undefined {
	const from = Math.max(domain[0], Math.floor(Math.min(a, b)));
	const to = Math.min(domain[1], Math.ceil(Math.max(a, b)));
	if (!(to - from >= 1)) return undefined;
	return widen([from, to], domain);
}

function widen([from, to]: StepRange, domain: StepRange): StepRange {
	if (to - from >= MIN_ZOOM_STEPS) return [from, to];
	const middle = (from + to) / 2;
	let lo = Math.floor(middle - MIN_ZOOM_STEPS / 2);
	let hi = lo + MIN_ZOOM_STEPS;
	if (lo < domain[0]) [lo, hi] = [domain[0], domain[0] + MIN_ZOOM_STEPS];
	if (hi > domain[1]) [lo, hi] = [Math.max(domain[0], domain[1] - MIN_ZOOM_STEPS), domain[1]];
	return [lo, hi];
}

/**
 * The view after a keyboard zoom by `factor` (0.5 zooms in, 2 out) around its middle, or a
 * pan by `shift` of its width; undefined once it covers the whole domain (back to no zoom).
 */
export function stepView(view: StepRange, domain: StepRange, factor: number, shift = 0): StepRange | undefined {
	const width = Math.max(MIN_ZOOM_STEPS, (view[1] - view[0]) * factor);
	if (width >= domain[1] - domain[0]) return undefined;
	let from = (view[0] + view[1]) / 2 - width / 2 + shift * (view[1] - view[0]);
	from = Math.max(domain[0], Math.min(domain[1] - width, from));
	return [Math.round(from), Math.round(from + width)];
}

/** Whether a zoomed view reaches the end of the data, so that it keeps following live points. */
export function reachesEnd(view: StepRange, lastStep: number): boolean {
	return view[1] >= lastStep;
}

/** Index of the point whose x is nearest `x` in points sorted by x, or -1 when there is none. */
export function nearestIndex<T>(points: readonly T[], xOf: (point: T) => number, x: number): number {
	if (points.length === 0) return -1;
	let lo = 0;
	let hi = points.length - 1;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if (xOf(points[mid]!) < x) lo = mid + 1;
		else hi = mid;
	}
	if (lo > 0 && Math.abs(xOf(points[lo - 1]!) - x) <= Math.abs(xOf(points[lo]!) - x)) return lo - 1;
	return lo;
}

/** The points whose x lies in [from, to] (sorted by x): a slice, found by binary search. */
export function sliceByX<T>(points: readonly T[], xOf: (point: T) => number, [from, to]: StepRange): readonly T[] {
	const first = lowerBound(points, xOf, from);
	let end = lowerBound(points, xOf, to);
	while (end < points.length && xOf(points[end]!) <= to) end++;
	return first === 0 && end === points.length ? points : points.slice(first, end);
}

function lowerBound<T>(points: readonly T[], xOf: (point: T) => number, x: number): number {
	let lo = 0;
	let hi = points.length;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if (xOf(points[mid]!) < x) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

/**
 * SVG path data of a line kept inside [lo, hi] (pixel values of y, lo < hi in pixels): where
 * a curve leaves the range it is drawn to the edge and lifted, and where it comes back it
 * starts again from the edge, so a value beyond the range is never drawn as a flat run at
 * the border. Missing values (null, NaN) are skipped, as in linePath.
 */
export function clippedLinePath<T>(
	points: readonly T[],
	x: (point: T) => number,
	y: (point: T) => number | null,
	[top, bottom]: [number, number]
): string {
	const parts: string[] = [];
	let pen = false;
	let previous: { px: number; py: number } | undefined;
	const r = (v: number) => Math.round(v * 10) / 10;
	for (const point of points) {
		const py = y(point);
		const px = x(point);
		if (py === null || !Number.isFinite(py) || !Number.isFinite(px)) continue;
		const inside = py >= top && py <= bottom;
		const edge = py < top ? top : bottom;
		if (inside) {
			if (!pen && previous) parts.push(`M${r(previous.px)},${r(previous.py < top ? top : bottom)}`);
			parts.push(`${parts.length === 0 || (!pen && !previous) ? 'M' : 'L'}${r(px)},${r(py)}`);
			pen = true;
		} else if (pen) {
			parts.push(`L${r(px)},${r(edge)}`);
			pen = false;
		}
		previous = { px, py };
	}
	return parts.join('');
}
