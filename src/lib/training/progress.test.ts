import { describe, expect, it } from 'vitest';
import { etaMs, formatDuration, progressPercent } from './progress';

describe('progress and ETA', () => {
	it('computes percent of total steps, clamped', () => {
		expect(progressPercent(150, 300)).toBe(50);
		expect(progressPercent(0, 300)).toBe(0);
		expect(progressPercent(400, 300)).toBe(100);
		expect(progressPercent(5, 0)).toBe(0);
	});

	it('estimates the remaining time as elapsed / progress − elapsed', () => {
		// 25 % done after 60 s: 240 s in all, 180 s left.
		expect(etaMs(60_000, 25)).toBe(180_000);
		expect(etaMs(60_000, 100)).toBe(0);
	});

	it('has no ETA before it means anything', () => {
		expect(etaMs(0, 10)).toBeNull();
		expect(etaMs(10_000, 0)).toBeNull();
	});

	it('formats durations', () => {
		expect(formatDuration(12_400)).toBe('12s');
		expect(formatDuration(245_000)).toBe('4m 05s');
		expect(formatDuration(3_723_000)).toBe('1h 02m 03s');
	});
});
