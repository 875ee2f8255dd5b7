import { describe, expect, it } from 'vitest';
import { baseName, nextCopyName } from './copy-name';

describe('nextCopyName', () => {
	it('numbers the first copy 2 and counts after the highest taken number', () => {
		expect(nextCopyName('NC run', ['NC run'])).toBe('NC run (2)');
		expect(nextCopyName('NC run', ['NC run', 'NC run (2)', 'NC run (5)', 'NC runner (9)'])).toBe('NC run (6)');
	});

	it('copies a copy under the original name', () => {
		expect(baseName('NC run (3)')).toBe('NC run');
		expect(nextCopyName('NC run (3)', ['NC run', 'NC run (2)', 'NC run (3)'])).toBe('NC run (4)');
	});

	it('keeps the name within 100 characters', () => {
		const long = 'x'.repeat(100);
		const copy = nextCopyName(long, [long]);
		expect(copy).toHaveLength(100);
		expect(copy.endsWith(' (2)')).toBe(true);
	});
});
