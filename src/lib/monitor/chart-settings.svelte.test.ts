import { describe, expect, it } from 'vitest';
import { ChartSettings } from './chart-settings.svelte';
import { DEFAULT_SMOOTHING } from '$lib/training/smoothing';

/** A Storage over a plain map. */
function memoryStorage(initial: Record<string, string> = {}): Storage {
	const values = new Map(Object.entries(initial));
	return {
		get length() {
			return values.size;
		},
		clear: () => values.clear(),
		getItem: (key) => values.get(key) ?? null,
		key: (index) => [...values.keys()][index] ?? null,
		removeItem: (key) => void values.delete(key),
		setItem: (key, value) => void values.set(key, String(value))
	};
}

describe('ChartSettings', () => {
	it('saves the smoothing and the log switch, and a new page reads them back', () => {
		const storage = memoryStorage();
		const first = new ChartSettings(() => storage);
		first.smoothing = 0.85;
		first.logScale = true;
		first.save();

		const second = new ChartSettings(() => storage);
		expect(second.smoothing).toBe(DEFAULT_SMOOTHING);
		second.load();
		expect(second.smoothing).toBe(0.85);
		expect(second.logScale).toBe(true);
	});

	it('keeps the defaults for a corrupt or out-of-range value, and without storage', () => {
		const corrupt = new ChartSettings(() => memoryStorage({ 'vapor.chart-settings': '{not json' }));
		corrupt.load();
		expect(corrupt.smoothing).toBe(DEFAULT_SMOOTHING);
		expect(corrupt.logScale).toBe(false);

		const outOfRange = new ChartSettings(() =>
			memoryStorage({ 'vapor.chart-settings': '{"smoothing": 7, "logScale": "yes"}' })
		);
		outOfRange.load();
		expect(outOfRange.smoothing).toBe(0.99);
		expect(outOfRange.logScale).toBe(false);

		const none = new ChartSettings(() => undefined);
		none.load();
		none.save();
		expect(none.smoothing).toBe(DEFAULT_SMOOTHING);
	});
});
