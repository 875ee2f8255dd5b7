import { describe, expect, it } from 'vitest';
import { extendTailwindMerge, twMerge } from './tailwind-merge';

describe('tailwind-merge stand-in', () => {
	it('joins class lists, dropping empty ones and extra spaces', () => {
		expect(twMerge('axis  tick', undefined, '', 'tick-label', false, null)).toBe('axis tick tick-label');
		expect(extendTailwindMerge()('a', ' b ')).toBe('a b');
		expect(twMerge()).toBe('');
	});
});
