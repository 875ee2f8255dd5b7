import { describe, expect, it } from 'vitest';
import { arrayLiteral } from './array-literal';

describe('arrayLiteral', () => {
	it('writes numbers as JavaScript prints them, nulls as NULL, strings quoted', () => {
		expect(arrayLiteral([])).toBe('{}');
		expect(arrayLiteral([1, 0.1, 1e-7, -2.5e300])).toBe('{1,0.1,1e-7,-2.5e+300}');
		expect(arrayLiteral([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe(
			'{NaN,Infinity,-Infinity}'
		);
		expect(arrayLiteral([0.5, null, undefined])).toBe('{0.5,NULL,NULL}');
		expect(arrayLiteral(['2026-11-29T03:00:00.123+01:00', null, 'a"b\\c'])).toBe(
			'{"2026-11-29T03:00:00.123+01:00",NULL,"a\\"b\\\\c"}'
		);
	});
});
