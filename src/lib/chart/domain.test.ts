import { describe, expect, it } from 'vitest';
import {
	clippedLinePath,
	dragRange,
	formatValue,
	linearTicks,
	MIN_ZOOM_STEPS,
	nearestIndex,
	niceDomain,
	reachesEnd,
	robustRange,
	sliceByX,
	stepView,
	tickFormat
} from './domain';

const decay = (n: number, start: number, end: number) =>
	Array.from({ length: n }, (_, i) => end + (start - end) * Math.exp(-i / (n / 8)));

describe('robustRange', () => {
	it('shows the whole of one smooth curve, its high start included', () => {
		const values = decay(1000, 2.3, 0.3);
		const range = robustRange([values])!;
		expect(range.lo).toBeCloseTo(Math.min(...values), 6);
		expect(range.hi).toBeCloseTo(2.3, 6);
		expect(range.outliers).toEqual([]);
	});

	it('leaves out a run that diverged, so the others do not lie flat on the axis', () => {
		const runs = [decay(500, 2.3, 0.3), decay(500, 2.2, 0.35), decay(500, 2.4, 0.28)];
		const diverged = decay(500, 2.3, 0.3).map((v, i) => (i > 100 ? v * 1e4 : v));
		const range = robustRange([...runs, diverged])!;
		expect(range.outliers).toEqual([3]);
		expect(range.hi).toBeLessThan(3);
		expect(range.max).toBeGreaterThan(1000);
	});

	it('with two runs, sides with the lower one against a diverged one', () => {
		const range = robustRange([decay(300, 2, 0.5), decay(300, 2, 0.5).map((v) => v * 500)])!;
		expect(range.outliers).toEqual([1]);
		expect(range.hi).toBeLessThanOrEqual(2);
	});

	it('does not stretch to one spike of a series (a grad_norm blow-up)', () => {
		const values = Array.from({ length: 1000 }, (_, i) => 1 + Math.sin(i / 10) * 0.2);
		values[500] = 1e5;
		const range = robustRange([values])!;
		expect(range.hi).toBeLessThan(2);
		expect(range.max).toBe(1e5);
	});

	it('ignores NaN and infinities, and is undefined with no finite value', () => {
		expect(robustRange([[NaN, Infinity]])).toBeUndefined();
		expect(robustRange([])).toBeUndefined();
		const range = robustRange([[1, NaN, 2, -Infinity, 3]])!;
		expect([range.min, range.max]).toEqual([1, 3]);
	});

	it('handles a flat series', () => {
		const range = robustRange([[0.5, 0.5, 0.5]])!;
		expect([range.lo, range.hi]).toEqual([0.5, 0.5]);
	});
});

describe('niceDomain and ticks', () => {
	it('rounds outwards to a step that cuts the domain in about five', () => {
		expect(niceDomain(0.312, 0.348)).toEqual([0.31, 0.35]);
		expect(niceDomain(-3, 7.2)).toEqual([-5, 7.5]);
		expect(linearTicks([0.31, 0.35])).toEqual([0.31, 0.32, 0.33, 0.34, 0.35]);
	});

	it('gives a flat series room around its value', () => {
		const [lo, hi] = niceDomain(2, 2);
		expect(lo).toBeLessThan(2);
		expect(hi).toBeGreaterThan(2);
		expect(niceDomain(0, 0)[1]).toBeGreaterThan(0);
	});

	it('labels ticks with the decimals their step needs', () => {
		expect(tickFormat([0.31, 0.35])(0.32)).toBe('0.32');
		expect(tickFormat([0, 50_000])(20_000)).toBe('20k');
		expect(tickFormat([0, 0.0004])(0.0002)).toBe('2.0e-4');
		expect(tickFormat([0, 10])(4)).toBe('4');
	});

	it('formats values for tooltips, non-finite ones by name', () => {
		expect(formatValue(0.123456)).toBe('0.12346');
		expect(formatValue(0.0003)).toBe('3.000e-4');
		expect(formatValue(NaN)).toBe('NaN');
		expect(formatValue(Infinity)).toBe('∞');
		expect(formatValue(null)).toBe('—');
	});
});

describe('zoom', () => {
	it('selects whole steps inside the domain, in either drag direction', () => {
		expect(dragRange(420.4, 180.6, [0, 1000])).toEqual([180, 421]);
		expect(dragRange(-50, 80, [0, 1000])).toEqual([0, 80]);
	});

	it('widens a tiny drag to the narrowest view, and ignores a click', () => {
		expect(dragRange(10, 11, [0, 1000])).toEqual([8, 8 + MIN_ZOOM_STEPS]);
		expect(dragRange(999, 1000, [0, 1000])).toEqual([1000 - MIN_ZOOM_STEPS, 1000]);
		expect(dragRange(10, 10, [0, 1000])).toBeUndefined();
	});

	it('zooms by keys around the middle and pans, back to no zoom at full width', () => {
		expect(stepView([0, 1000], [0, 1000], 0.5)).toEqual([250, 750]);
		expect(stepView([250, 750], [0, 1000], 1, 0.25)).toEqual([375, 875]);
		expect(stepView([800, 1000], [0, 1000], 1, 1)).toEqual([800, 1000]);
		expect(stepView([250, 750], [0, 1000], 2)).toBeUndefined();
	});

	it('follows live points only when the view reaches the last step', () => {
		expect(reachesEnd([500, 1000], 1000)).toBe(true);
		expect(reachesEnd([500, 900], 1000)).toBe(false);
	});
});

describe('nearestIndex and sliceByX', () => {
	const points = [1, 5, 10, 20].map((step) => ({ step }));
	const x = (p: { step: number }) => p.step;

	it('finds the nearest point to a step', () => {
		expect(nearestIndex(points, x, 0)).toBe(0);
		expect(nearestIndex(points, x, 7)).toBe(1);
		expect(nearestIndex(points, x, 8)).toBe(2);
		expect(nearestIndex(points, x, 100)).toBe(3);
		expect(nearestIndex([], x, 1)).toBe(-1);
	});

	it('slices the points inside a range, the same array when all fit', () => {
		expect(sliceByX(points, x, [5, 10]).map(x)).toEqual([5, 10]);
		expect(sliceByX(points, x, [2, 19]).map(x)).toEqual([5, 10]);
		expect(sliceByX(points, x, [0, 30])).toBe(points);
	});
});

describe('clippedLinePath', () => {
	it('draws to the edge where a curve leaves the range, lifts the pen, and comes back from the edge', () => {
		const ys = [50, 40, -100, -200, 30, 20];
		const path = clippedLinePath(
			ys.map((y, i) => ({ x: i * 10, y })),
			(p) => p.x,
			(p) => p.y,
			[0, 100]
		);
		expect(path).toBe('M0,50L10,40L20,0M30,0L40,30L50,20');
	});

	it('starts from nothing when the first points are out of range, and skips gaps', () => {
		const path = clippedLinePath(
			[{ y: -5 }, { y: null }, { y: 10 }, { y: 20 }].map((p, i) => ({ x: i, ...p })),
			(p) => p.x,
			(p) => p.y,
			[0, 100]
		);
		expect(path).toBe('M0,0L2,10L3,20');
	});
});
