import { describe, expect, it } from 'vitest';
import {
	EMPTY_LOG_DOMAIN,
	EMPTY_UPPER,
	accuracyTicks,
	countNonPositive,
	formatLogTick,
	logTicks,
	minPositiveLoss,
	niceLogDomain,
	sampleIndices,
	stableLogDomain,
	areaPath,
	formatCompact,
	formatLossTick,
	linePath,
	lossTicks,
	maxFiniteLoss,
	niceUpperBound,
	stableUpperBound,
	stepDomain,
	stepTicks
} from './chart-domain';

/** Replays a stream of maxima through stableUpperBound, as the chart does on each update. */
function replay(maxima: number[]): number[] {
	const bounds: number[] = [];
	let bound: number | undefined;
	for (const max of maxima) bounds.push((bound = stableUpperBound(bound, max)));
	return bounds;
}

describe('niceUpperBound', () => {
	it('rounds up to a round number with about 10% headroom', () => {
		expect(niceUpperBound(2.5)).toBe(3);
		expect(niceUpperBound(2.3)).toBe(3);
		expect(niceUpperBound(1)).toBe(1.2);
		expect(niceUpperBound(0.05)).toBe(0.06);
		expect(niceUpperBound(0.3)).toBe(0.4);
		expect(niceUpperBound(0.2)).toBe(0.25);
		expect(niceUpperBound(9e3)).toBe(10_000);
	});

	it('always includes the maximum, with headroom, across magnitudes', () => {
		for (let e = -6; e <= 6; e++) {
			for (let m = 1; m < 10; m += 0.137) {
				const max = m * 10 ** e;
				const upper = niceUpperBound(max);
				expect(upper).toBeGreaterThanOrEqual(max * 1.1 * (1 - 1e-12));
				// …without wasting more than half the chart on headroom.
				expect(upper).toBeLessThanOrEqual(max * 1.1 * 1.6);
			}
		}
	});

	it('is monotone in the maximum', () => {
		let previous = 0;
		for (let max = 1e-3; max < 2e4; max *= 1.003) {
			const upper = niceUpperBound(max);
			expect(upper).toBeGreaterThanOrEqual(previous);
			previous = upper;
		}
	});

	it('has no binary noise in its result', () => {
		for (const max of [0.27, 0.0031, 0.63, 7.1e-5]) {
			const upper = niceUpperBound(max);
			expect(String(upper)).toMatch(/^\d+(\.\d{1,8})?(e-\d+)?$/);
		}
	});

	it('falls back to a unit axis without a positive finite maximum', () => {
		expect(niceUpperBound(0)).toBe(EMPTY_UPPER);
		expect(niceUpperBound(-3)).toBe(EMPTY_UPPER);
		expect(niceUpperBound(Number.NaN)).toBe(EMPTY_UPPER);
		expect(niceUpperBound(-Infinity)).toBe(EMPTY_UPPER);
	});
});

describe('stableUpperBound', () => {
	it('starts from the nice bound of a single point', () => {
		expect(stableUpperBound(undefined, 2.41)).toBe(3);
	});

	it('stays put under small increases and only moves when the maximum passes it', () => {
		const bounds = replay([2.41, 2.45, 2.5, 2.6, 2.9, 2.99, 3]);
		expect(new Set(bounds)).toEqual(new Set([3]));
		expect(replay([2.41, 3.05])).toEqual([3, 4]);
	});

	it('never drops while a run streams, even when the maximum dips (downsampling)', () => {
		const bounds = replay([2.4, 2.4, 2.1, 1.9, 2.2, 2.4]);
		expect(bounds.every((b) => b === 3)).toBe(true);
	});

	it('is monotone and always includes the maximum of a diverging run', () => {
		const maxima = Array.from({ length: 400 }, (_, i) => 2.4 * Math.exp(0.02 * i));
		const bounds = replay(maxima);
		for (let i = 0; i < bounds.length; i++) {
			expect(bounds[i]).toBeGreaterThanOrEqual(maxima[i]!);
			if (i > 0) expect(bounds[i]).toBeGreaterThanOrEqual(bounds[i - 1]!);
		}
		// It changes about three times per doubling of the loss, not on every one of 400 updates.
		expect(new Set(bounds).size).toBeLessThan(40);
		expect(stableUpperBound(undefined, 9e3)).toBe(10_000);
		expect(stableUpperBound(10_000, 9.9e3)).toBe(10_000);
	});

	it('keeps the current bound when there is nothing to show, or a unit axis at first', () => {
		expect(stableUpperBound(undefined, -Infinity)).toBe(EMPTY_UPPER);
		expect(stableUpperBound(3, -Infinity)).toBe(3);
		expect(stableUpperBound(3, Number.NaN)).toBe(3);
	});

	it('starts afresh when the points belong to a much smaller run', () => {
		expect(stableUpperBound(10_000, 2.4)).toBe(3);
	});
});

describe('maxFiniteLoss', () => {
	it('skips NaN and infinite losses', () => {
		expect(maxFiniteLoss([{ loss: 1 }, { loss: Number.NaN }, { loss: 3 }, { loss: Infinity }])).toBe(3);
	});

	it('is -Infinity for no points', () => {
		expect(maxFiniteLoss([])).toBe(-Infinity);
		expect(maxFiniteLoss([{ loss: Number.NaN }])).toBe(-Infinity);
	});
});

describe('lossTicks and formatLossTick', () => {
	it('ends exactly on the bound, evenly spaced', () => {
		expect(lossTicks(3)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3]);
		expect(lossTicks(0.06)).toEqual([0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06]);
		expect(lossTicks(10_000)).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
	});

	it('labels with as few decimals as tell the ticks apart', () => {
		expect(lossTicks(3).map((v) => formatLossTick(v, 3))).toEqual(['0.0', '0.5', '1.0', '1.5', '2.0', '2.5', '3.0']);
		expect(formatLossTick(0.25, 1.25)).toBe('0.25');
		expect(formatLossTick(0.02, 0.06)).toBe('0.02');
		expect(formatLossTick(4, 12)).toBe('4');
		expect(formatLossTick(4000, 10_000)).toBe('4k');
	});

	it('writes the ticks of a tiny range (a learning rate) with an exponent', () => {
		expect(lossTicks(0.00012).map((v) => formatLossTick(v, 0.00012))).toEqual([
			'0',
			'2.0e-5',
			'4.0e-5',
			'6.0e-5',
			'8.0e-5',
			'1.0e-4',
			'1.2e-4'
		]);
		// Ticks 2.5e-5 apart keep their second digit: 1.25e-4, never a rounded 1.3e-4.
		expect(lossTicks(0.00015).map((v) => formatLossTick(v, 0.00015))).toEqual([
			'0',
			'2.5e-5',
			'5.0e-5',
			'7.5e-5',
			'1.0e-4',
			'1.25e-4',
			'1.5e-4'
		]);
	});
});

describe('formatCompact', () => {
	it('writes large step numbers with k and M', () => {
		expect(formatCompact(0)).toBe('0');
		expect(formatCompact(950)).toBe('950');
		expect(formatCompact(1000)).toBe('1k');
		expect(formatCompact(1200)).toBe('1.2k');
		expect(formatCompact(12_000)).toBe('12k');
		expect(formatCompact(1_500_000)).toBe('1.5M');
	});
});

describe('stepDomain', () => {
	it('is fixed to the run length, so the curve grows left to right', () => {
		expect(stepDomain([], 500)).toEqual([0, 500]);
		expect(stepDomain([{ step: 10 }, { step: 20 }], 500)).toEqual([0, 500]);
	});

	it('extends past totalSteps if the run overshoots, and is never empty', () => {
		expect(stepDomain([{ step: 520 }], 500)).toEqual([0, 520]);
		expect(stepDomain([], 0)).toEqual([0, 1]);
	});
});

describe('stepTicks', () => {
	it('gives whole, evenly spaced steps, fewer on narrow charts', () => {
		expect(stepTicks([0, 500], 800)).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500]);
		expect(stepTicks([0, 500], 320)).toEqual([0, 200, 400]);
		expect(stepTicks([0, 3], 800)).toEqual([0, 1, 2, 3]);
		for (const tick of stepTicks([0, 12], 600)) expect(Number.isInteger(tick)).toBe(true);
	});
});

describe('linePath and areaPath', () => {
	const points = [
		{ step: 0, loss: 2 },
		{ step: 1, loss: Number.NaN },
		{ step: 2, loss: 1.234567 },
		{ step: 3, loss: 1 }
	];
	type P = { step: number; loss: number };
	const x = (p: P) => p.step * 10;
	const y = (p: P) => 100 - p.loss * 10;

	it('draws through finite points only, rounded to 0.1 px', () => {
		expect(linePath(points, x, y)).toBe('M0,80L20,87.7L30,90');
	});

	it('is empty without a drawable point, and a lone point is a move', () => {
		expect(linePath<P>([], x, y)).toBe('');
		expect(linePath([{ step: 1, loss: Number.NaN }], x, y)).toBe('');
		expect(linePath([{ step: 1, loss: 2 }], x, y)).toBe('M10,80');
		expect(linePath([{ step: 1, loss: 2 }], x, () => null)).toBe('');
	});

	it('closes the line down to the baseline for the area', () => {
		expect(areaPath('M0,80L20,87.7L30,90', 100)).toBe('M0,80L20,87.7L30,90L30,100L0,100Z');
		expect(areaPath('M10,80', 100)).toBe('M10,80L10,100L10,100Z');
		expect(areaPath('', 100)).toBe('');
	});
});

describe('accuracyTicks', () => {
	it('puts every accuracy label on a loss grid line, at round percentages only', () => {
		expect(accuracyTicks(4)).toEqual([0, 0.25, 0.5, 0.75, 1]);
		expect(accuracyTicks(5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
		expect(accuracyTicks(6)).toEqual([0, 0.5, 1]);
		expect(accuracyTicks(3)).toEqual([0, 1]);
	});

	it('fits every loss axis the chart can draw', () => {
		for (let max = 0.01; max < 1e4; max *= 1.05) {
			const intervals = lossTicks(niceUpperBound(max)).length - 1;
			expect(accuracyTicks(intervals).length).toBeGreaterThanOrEqual(3);
		}
	});
});

describe('log scale', () => {
	it('finds the smallest positive loss and counts the values a log axis cannot show', () => {
		const points = [{ loss: 2 }, { loss: 0 }, { loss: -1 }, { loss: Number.NaN }, { loss: 0.03 }];
		expect(minPositiveLoss(points)).toBe(0.03);
		expect(countNonPositive(points)).toBe(2);
		expect(minPositiveLoss([{ loss: 0 }])).toBe(Infinity);
	});

	it('rounds out to whole decades, at least one decade wide', () => {
		expect(niceLogDomain(0.03, 2.4)).toEqual([0.01, 10]);
		expect(niceLogDomain(0.2, 0.5)).toEqual([0.1, 1]);
		expect(niceLogDomain(0.1, 0.1)).toEqual([0.1, 1]);
		expect(niceLogDomain(1, 95)).toEqual([1, 100]);
		expect(niceLogDomain(1, 9947)).toEqual([1, 10_000]);
		expect(niceLogDomain(1, 10_001)).toEqual([1, 100_000]);
		expect(niceLogDomain(0, 1)).toEqual(EMPTY_LOG_DOMAIN);
	});

	it('keeps the domain while points arrive inside it, widens it a decade at a time, resets for another run', () => {
		let domain = stableLogDomain(undefined, 0.5, 2.3);
		expect(domain).toEqual([0.1, 10]);
		domain = stableLogDomain(domain, 0.2, 2.3); // the loss falls: nothing moves
		expect(domain).toEqual([0.1, 10]);
		domain = stableLogDomain(domain, 0.08, 2.3); // below the bottom: one decade more
		expect(domain).toEqual([0.01, 10]);
		domain = stableLogDomain(domain, 0.08, 40); // a spike past the top
		expect(domain).toEqual([0.01, 100]);
		expect(stableLogDomain(domain, 5, 8)).toEqual([1, 10]); // two decades inside: another run
		expect(stableLogDomain(domain, Infinity, -Infinity)).toBe(domain); // nothing to show: unchanged
	});

	it('ticks each decade, with 2 and 5 when the axis is short', () => {
		expect(logTicks([0.1, 10])).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10]);
		expect(logTicks([0.001, 10])).toEqual([0.001, 0.01, 0.1, 1, 10]);
		expect(logTicks([1, 10]).map(formatLogTick)).toEqual(['1', '2', '5', '10']);
		expect([0.001, 0.5, 20, 10_000, 1e-6].map(formatLogTick)).toEqual(['0.001', '0.5', '20', '10k', '1e-6']);
	});
});

describe('sampleIndices', () => {
	it('spreads at most count indices from the first to the last', () => {
		expect(sampleIndices(3, 10)).toEqual([0, 1, 2]);
		expect(sampleIndices(101, 5)).toEqual([0, 25, 50, 75, 100]);
		expect(sampleIndices(10, 1)).toEqual([9]);
		expect(sampleIndices(0, 5)).toEqual([]);
	});
});
