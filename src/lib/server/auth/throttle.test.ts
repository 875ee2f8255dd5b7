import { describe, expect, it } from 'vitest';
import { Throttle } from './throttle';

describe('Throttle', () => {
	it('refuses after the limit of failures in the window, and forgets them as they age', () => {
		let now = 0;
		const throttle = new Throttle(3, 1_000, () => now);
		for (let i = 0; i < 3; i++) {
			expect(throttle.retryAfter('ada')).toBe(0);
			throttle.fail('ada');
			now += 100;
		}
		expect(throttle.retryAfter('ada')).toBe(700);
		expect(throttle.retryAfter('bob')).toBe(0);
		now = 1_001;
		expect(throttle.retryAfter('ada')).toBe(0);
	});

	it('is cleared by a success', () => {
		const throttle = new Throttle(1, 1_000, () => 0);
		throttle.fail('ada');
		expect(throttle.retryAfter('ada')).toBeGreaterThan(0);
		throttle.succeed('ada');
		expect(throttle.retryAfter('ada')).toBe(0);
	});
});
