/**
 * Debiased exponential moving average for unevenly spaced points (the curve the charts draw
 * over the faint raw loss).
 *
 * TensorBoard smooths by index: last = s·last + (1 − s)·y, then divides by the weight the
 * zero start has not yet filled, 1 − s^n. Our points are not evenly spaced (a downsampled
 * curve keeps a handful of points per pixel column, live points arrive one step apart), so
 * the decay is per unit of step instead: a gap of d steps decays the average by s^d.
 *
 *   decay_i = s^(x_i − x_{i−1})                  (the first point counts as a gap of 1)
 *   last_i  = decay_i · last_{i−1} + (1 − decay_i) · y_i,   last_0 = 0
 *   P_i     = decay_1 · decay_2 · … · decay_i      (the weight still on the zero start)
 *   out_i   = last_i / (1 − P_i)
 *
 * Unrolled, out_n = Σ w_i·y_i / Σ w_i with w_i = (1 − decay_i) · s^(x_n − x_i): each point
 * weighs as much as the span of steps it stands for, faded by its distance from x_n. So the
 * first point equals itself, a constant series stays constant, and s = 0 is the identity.
 * Points whose y is not finite (a diverged NaN) are passed through as NaN and skipped.
 */

/** The slider's range: 0.99 per step already averages over about a hundred steps. */
export const MAX_SMOOTHING = 0.99;
export const DEFAULT_SMOOTHING = 0.6;

/** A smoothing weight from anything (a URL parameter, localStorage): a number in [0, 0.99], else `fallback`. */
export function parseSmoothing(raw: string | null | undefined, fallback = DEFAULT_SMOOTHING): number {
	if (raw === null || raw === undefined || raw.trim() === '') return fallback;
	const value = Number(raw);
	if (!Number.isFinite(value)) return fallback;
	return Math.min(MAX_SMOOTHING, Math.max(0, Math.round(value * 100) / 100));
}

/**
 * The smoothed value of each point, in the order given (which must be ascending in `x`).
 * `smoothing` is the decay per unit of x, in [0, 1).
 */
export function smoothSeries<T>(
	points: readonly T[],
	x: (point: T) => number,
	y: (point: T) => number,
	smoothing: number
): number[] {
	if (!(smoothing >= 0 && smoothing < 1)) throw new RangeError(`smoothing must be in [0, 1); it is ${smoothing}`);
	const out = new Array<number>(points.length);
	let last = 0;
	let remaining = 1; // P_i, the weight still on the zero start
	let previousX: number | undefined;
	for (let i = 0; i < points.length; i++) {
		const point = points[i]!;
		const value = y(point);
		if (!Number.isFinite(value)) {
			out[i] = Number.NaN;
			continue;
		}
		const position = x(point);
		const gap = previousX === undefined ? 1 : Math.max(0, position - previousX);
		previousX = position;
		// s^0 is 1 (a repeated x adds no weight), but 0^0 must not keep s = 0 from being the identity.
		const decay = smoothing === 0 ? 0 : smoothing ** gap;
		last = decay * last + (1 - decay) * value;
		remaining *= decay;
		const filled = 1 - remaining;
		out[i] = filled > 0 ? last / filled : value;
	}
	return out;
}
