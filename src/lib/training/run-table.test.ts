import { describe, expect, it } from 'vitest';
import { configValue, parseColumns, runTableHref, sortHref } from './run-table';

describe('run table address', () => {
	it('reads config columns, leaving out what is not a key', () => {
		expect(parseColumns('optimizer.lr, config.seed,,bad key,seed')).toEqual(['optimizer.lr', 'seed']);
		expect(parseColumns(null)).toEqual([]);
	});

	it('changes parameters and starts paging again', () => {
		const current = new URLSearchParams('q=bert&cursor=abc&status=running');
		expect(runTableHref(current, { status: undefined, tag: 'x' })).toBe('/training/jobs?q=bert&tag=x');
		expect(runTableHref(new URLSearchParams(), {})).toBe('/training/jobs');
	});

	it('flips the order of the active column and starts another at its default', () => {
		expect(sortHref(new URLSearchParams(''), 'created')).toBe('/training/jobs?order=asc');
		expect(sortHref(new URLSearchParams('order=asc'), 'created')).toBe('/training/jobs');
		expect(sortHref(new URLSearchParams('q=a'), 'name')).toBe('/training/jobs?q=a&sort=name');
		expect(sortHref(new URLSearchParams('sort=name'), 'name')).toBe('/training/jobs?sort=name&order=desc');
	});

	it('reads nested config values', () => {
		expect(configValue({ optimizer: { lr: 0.1 } }, 'optimizer.lr')).toBe(0.1);
		expect(configValue({ optimizer: 1 }, 'optimizer.lr')).toBeUndefined();
	});
});
