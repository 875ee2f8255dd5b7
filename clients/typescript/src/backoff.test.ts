import { describe, expect, it } from 'vitest';
import { backoffMs } from './backoff';

describe('backoff while Vapor is away', () => {
	it('doubles from 0.5 s to a 30 s ceiling', () => {
		const middle = () => 0.5; // no jitter
		expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 20].map((n) => backoffMs(n, middle))).toEqual([
			500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000
		]);
	});

	it('jitters by ±50 % so that many scripts do not come back at the same instant', () => {
		expect(backoffMs(3, () => 0)).toBe(1_000);
		expect(backoffMs(3, () => 0.999)).toBeCloseTo(2_998, 0);
		const delays = new Set(Array.from({ length: 50 }, () => backoffMs(4)));
		expect(delays.size).toBeGreaterThan(40);
		for (const delay of delays) expect(delay >= 2_000 && delay < 6_000).toBe(true);
	});
});
