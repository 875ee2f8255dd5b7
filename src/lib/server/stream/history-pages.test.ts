import { describe, expect, it } from 'vitest';
import { historyPageSizes } from './history-pages';

describe('historyPageSizes', () => {
	it('starts small and doubles up to the full page', () => {
		const next = historyPageSizes(1000);
		expect(Array.from({ length: 9 }, next)).toEqual([16, 32, 64, 128, 256, 512, 1000, 1000, 1000]);
	});

	it('never exceeds a small maximum', () => {
		const next = historyPageSizes(10);
		expect([next(), next()]).toEqual([10, 10]);
	});
});
