import { describe, expect, it } from 'vitest';
import { MAX_SMOOTHING, parseSmoothing, smoothSeries } from './smoothing';

type P = { step: number; loss: number };
const points = (xs: number[], ys: number[]): P[] => xs.map((step, i) => ({ step, loss: ys[i]! }));
const smooth = (data: P[], s: number) =>
	smoothSeries(
		data,
		(p) => p.step,
		(p) => p.loss,
		s
	);

describe('smoothSeries', () => {
	it('decays by step distance, not by index, and debiases by the accumulated weight', () => {
		// s = 0.5, steps 1, 2, 4 (a gap of 2 before the last point), losses 2, 4, 8.
		// step 1: decay 0.5 (first point: a gap of 1); last = 0.5·0 + 0.5·2 = 1;       P = 0.5;    1 / (1 − 0.5)      = 2
		// step 2: decay 0.5;                           last = 0.5·1 + 0.5·4 = 2.5;     P = 0.25;   2.5 / (1 − 0.25)   = 10/3
		// step 4: decay 0.5² = 0.25;                   last = 0.25·2.5 + 0.75·8 = 6.625; P = 0.0625; 6.625 / 0.9375 = 106/15
		const result = smooth(points([1, 2, 4], [2, 4, 8]), 0.5);
		expect(result[0]).toBe(2);
		expect(result[1]).toBeCloseTo(10 / 3, 12);
		expect(result[2]).toBeCloseTo(106 / 15, 12); // 7.0667
		// By index (TensorBoard's rule) the last value would be (0.5·2.5 + 0.5·8) / (1 − 0.125) = 6.
		expect(result[2]).not.toBeCloseTo(6, 3);
	});

	it('with even spacing matches the index-based debiased EMA', () => {
		// s = 0.9, steps 10, 11, 12, losses 1, 0, 0.
		// step 10: last = 0.1·1 = 0.1;          P = 0.9;   0.1 / 0.1    = 1
		// step 11: last = 0.9·0.1 + 0.1·0 = 0.09;  P = 0.81;  0.09 / 0.19  = 0.473684…
		// step 12: last = 0.9·0.09 = 0.081;        P = 0.729; 0.081 / 0.271 = 0.298893…
		const result = smooth(points([10, 11, 12], [1, 0, 0]), 0.9);
		expect(result[0]).toBe(1);
		expect(result[1]).toBeCloseTo(0.09 / 0.19, 12);
		expect(result[2]).toBeCloseTo(0.081 / 0.271, 12);
	});

	it('is the identity at s = 0', () => {
		const ys = [3, 1, 4, 1, 5, 9, 2.6];
		expect(smooth(points([1, 2, 5, 6, 50, 51, 900], ys), 0)).toEqual(ys);
	});

	it('keeps a constant series constant, whatever the spacing', () => {
		for (const s of [0.3, 0.9, MAX_SMOOTHING]) {
			for (const value of smooth(points([0, 3, 4, 10, 1000], [2.5, 2.5, 2.5, 2.5, 2.5]), s)) {
				expect(value).toBeCloseTo(2.5, 12);
			}
		}
	});

	it('starts at the first point itself', () => {
		for (const s of [0, 0.2, 0.6, 0.99]) expect(smooth(points([7, 8], [0.42, 5]), s)[0]).toBeCloseTo(0.42, 14);
	});

	it('passes a non-finite loss through as NaN and leaves it out of the average', () => {
		// s = 0.5, steps 1, 2, 3, losses 2, NaN, 4: step 3 is 2 steps after the last finite point.
		// step 1: last = 1, P = 0.5, out 2;  step 3: decay 0.25, last = 0.25·1 + 0.75·4 = 3.25, P = 0.125, 3.25 / 0.875 = 26/7
		const result = smooth(points([1, 2, 3], [2, Number.NaN, 4]), 0.5);
		expect(result[0]).toBe(2);
		expect(result[1]).toBeNaN();
		expect(result[2]).toBeCloseTo(26 / 7, 12);
	});

	it('stays between the smallest and largest value seen', () => {
		const ys = [5, 1, 8, 0.5, 3, 9, 2];
		const result = smooth(points([1, 4, 5, 9, 10, 30, 31], ys), 0.8);
		for (const value of result) {
			expect(value).toBeGreaterThanOrEqual(0.5);
			expect(value).toBeLessThanOrEqual(9);
		}
	});

	it('refuses a smoothing outside [0, 1)', () => {
		expect(() => smooth(points([1], [1]), 1)).toThrow(RangeError);
		expect(() => smooth(points([1], [1]), -0.1)).toThrow(RangeError);
		expect(() => smooth(points([1], [1]), Number.NaN)).toThrow(RangeError);
	});
});

describe('parseSmoothing', () => {
	it('reads a number and keeps it within 0–0.99, to two decimals', () => {
		expect(parseSmoothing('0.6')).toBe(0.6);
		expect(parseSmoothing('0')).toBe(0);
		expect(parseSmoothing('1')).toBe(0.99);
		expect(parseSmoothing('-3')).toBe(0);
		expect(parseSmoothing('0.123')).toBe(0.12);
	});

	it('falls back for missing or unreadable values', () => {
		expect(parseSmoothing(null, 0.5)).toBe(0.5);
		expect(parseSmoothing('', 0.5)).toBe(0.5);
		expect(parseSmoothing('smooth', 0.5)).toBe(0.5);
	});
});
