import { describe, expect, it } from 'vitest';
import {
	MAX_COMPARE,
	orderCompareKeys,
	compareHref,
	formatElapsed,
	parseCompareIds,
	parseXMode,
	seriesColor,
	timeTicks,
	toggleSelection
} from './compare';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('parseCompareIds', () => {
	it('keeps valid ids in order, lowercased, once each', () => {
		const upper = id(2).toUpperCase();
		expect(parseCompareIds(`${id(1)},${upper}, ${id(1)},,`)).toEqual({
			ids: [id(1), id(2)],
			notIds: [],
			overLimit: []
		});
	});

	it('sets apart what is not an id, and ids past the limit', () => {
		const many = Array.from({ length: 12 }, (_, i) => id(i + 1));
		const parsed = parseCompareIds(['abc', ...many, 'x'.repeat(50)].join(','));
		expect(parsed.ids).toEqual(many.slice(0, MAX_COMPARE));
		expect(parsed.overLimit).toEqual(many.slice(MAX_COMPARE));
		expect(parsed.notIds).toEqual(['abc', `${'x'.repeat(40)}…`]);
	});

	it('reads nothing from a missing or empty parameter', () => {
		expect(parseCompareIds(null)).toEqual({ ids: [], notIds: [], overLimit: [] });
		expect(parseCompareIds(' , ')).toEqual({ ids: [], notIds: [], overLimit: [] });
	});
});

describe('selection', () => {
	it('adds and removes, and refuses an eleventh', () => {
		let selected: string[] = [];
		for (let n = 1; n <= MAX_COMPARE; n++) selected = toggleSelection(selected, id(n)).selected;
		expect(selected).toHaveLength(MAX_COMPARE);
		expect(toggleSelection(selected, id(99))).toEqual({ selected, refused: true });
		expect(toggleSelection(selected, id(3)).selected).not.toContain(id(3));
	});

	it('links to the compare page with readable commas', () => {
		expect(compareHref([id(1), id(2)])).toBe(`/training/compare?ids=${id(1)},${id(2)}`);
		expect(compareHref([id(1)], 'time')).toBe(`/training/compare?ids=${id(1)}&x=time`);
		expect(parseXMode('time')).toBe('time');
		expect(parseXMode('steps')).toBe('step');
	});

	it('gives each run its own theme colour', () => {
		expect(seriesColor(0)).toBe('hsl(var(--chart-1))');
		expect(seriesColor(9, 0.3)).toBe('hsl(var(--chart-10) / 0.3)');
	});
});

describe('relative time axis', () => {
	it('formats elapsed time readably', () => {
		expect([0, 45_000, 150_000, 720_000, 3_900_000, 277_200_000, 86_400_000].map(formatElapsed)).toEqual([
			'0s',
			'45s',
			'2m 30s',
			'12m',
			'1h 05m',
			'3d 5h',
			'1d'
		]);
	});

	it('ticks at round durations', () => {
		expect(timeTicks(60_000, 600)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
		expect(timeTicks(3 * 3_600_000, 400)).toEqual([0, 3_600_000, 7_200_000, 10_800_000]);
		expect(timeTicks(0, 500)).toEqual([0]);
	});
});

describe('orderCompareKeys', () => {
	it('lists the keys every run has first, in the first run’s order, then the rest by name', () => {
		expect(
			orderCompareKeys([
				['train/loss', 'val/loss', 'lr', 'zeta'],
				['loss', 'val/loss', 'train/loss', 'alpha']
			])
		).toEqual({ shared: ['train/loss', 'val/loss'], others: ['alpha', 'loss', 'lr', 'zeta'] });
		expect(orderCompareKeys([])).toEqual({ shared: [], others: [] });
	});
});
