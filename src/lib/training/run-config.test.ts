import { describe, expect, it } from 'vitest';
import { checkConfig, configDifferences, flattenConfig, formatConfigValue, mergeConfig } from './run-config';

describe('run config', () => {
	it('accepts a JSON object up to 64 KB and refuses anything else', () => {
		expect(checkConfig({ a: 1 })).toEqual({ ok: true, value: { a: 1 } });
		for (const value of [null, [], 'x', 3]) expect(checkConfig(value).ok).toBe(false);
		const big = { blob: 'x'.repeat(64 * 1024) };
		expect(checkConfig(big)).toMatchObject({ ok: false, error: expect.stringMatching(/at most 65536/) });
	});

	it('flattens nested keys with dots, in key order; arrays and empty objects are leaves', () => {
		expect(flattenConfig({ model: { layers: 4, act: 'gelu' }, lr: 0.1, sizes: [1, 2], extra: {} })).toEqual([
			{ key: 'extra', value: {} },
			{ key: 'lr', value: 0.1 },
			{ key: 'model.act', value: 'gelu' },
			{ key: 'model.layers', value: 4 },
			{ key: 'sizes', value: [1, 2] }
		]);
		expect(formatConfigValue('adam')).toBe('adam');
		expect(formatConfigValue([1, 2])).toBe('[1,2]');
		expect(formatConfigValue(undefined)).toBe('—');
	});

	it('merges additions; the same value again is no change; a different value names its key', () => {
		const config = { optimizer: { name: 'adam', lr: 0.001 }, seed: 1 };
		expect(mergeConfig(config, { optimizer: { beta: 0.9 }, data: 'v2' })).toEqual({
			ok: true,
			changed: true,
			value: { optimizer: { name: 'adam', lr: 0.001, beta: 0.9 }, seed: 1, data: 'v2' }
		});
		expect(mergeConfig(config, { seed: 1, optimizer: { lr: 0.001 } })).toMatchObject({ ok: true, changed: false });
		expect(mergeConfig(config, { optimizer: { lr: 0.01 } })).toEqual({ ok: false, key: 'optimizer.lr' });
		expect(mergeConfig(config, { seed: { value: 1 } })).toEqual({ ok: false, key: 'seed' });
	});

	it('lists the keys on which runs differ and counts the equal ones', () => {
		const result = configDifferences([
			{ lr: 0.1, model: { layers: 4 }, seed: 1 },
			{ lr: 0.01, model: { layers: 4 }, seed: 1, warmup: 100 },
			{ lr: 0.1, model: { layers: 4 }, seed: 1 }
		]);
		expect(result).toEqual({
			differing: [
				{ key: 'lr', values: [0.1, 0.01, 0.1] },
				{ key: 'warmup', values: [undefined, 100, undefined] }
			],
			equalCount: 2
		});
	});
});
