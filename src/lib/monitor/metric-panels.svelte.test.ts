import { describe, expect, it } from 'vitest';
import type { KeySummary } from '$lib/training/metrics';
import type { StreamRow } from '$lib/training/stream-rows';
import { CollapsedSections, MetricPanels, sectionsOf } from './metric-panels.svelte';

const summary = (key: string, lastStep: number): KeySummary => ({
	key,
	count: lastStep,
	firstStep: 1,
	lastStep,
	lastValue: 1,
	min: 0,
	max: 2
});
const row = (position: number, step: number, values: StreamRow['values']): StreamRow => ({
	position,
	step,
	epoch: 1,
	recordedAt: '2026-01-01T00:00:00.000Z',
	values
});

/** A server that answers the history and range reads from a table of values per key. */
function fakeFetch(values: Record<string, number[]>) {
	const asked: string[] = [];
	const fetcher = (async (input: RequestInfo | URL) => {
		const url = new URL(String(input), 'http://x');
		asked.push(url.pathname + url.search);
		const key = url.searchParams.get('key')!;
		const from = Number(url.searchParams.get('fromStep') ?? 1);
		const to = Number(url.searchParams.get('toStep') ?? Infinity);
		const rows = (values[key] ?? [])
			.map((value, i) => ({ key, step: i + 1, epoch: 1, value, recordedAt: '' }))
			.filter((v) => v.step >= from && v.step <= to);
		const body = url.pathname.endsWith('/range') ? { values: rows } : { series: [{ key, values: rows }] };
		return new Response(JSON.stringify(body), { status: 200 });
	}) as typeof fetch;
	return { fetcher, asked };
}

describe('MetricPanels', () => {
	it('gives every key but the headline a panel, and a key first seen in the stream a new one', () => {
		const panels = new MetricPanels('j', 'train/loss', [
			summary('train/loss', 10),
			summary('train/accuracy', 10),
			summary('lr', 10)
		]);
		expect(panels.panelKeys).toEqual(['lr']);
		panels.receiveRows([row(11, 11, { 'train/loss': 0.5, 'val/loss': 0.7 })]);
		expect(panels.panelKeys).toEqual(['lr', 'val/loss']);
		expect(panels.series('val/loss').lastValue).toBe(0.7);
	});

	it('merges the history read after live values without drawing a step twice', async () => {
		const { fetcher } = fakeFetch({ lr: [1, 2, 3, 4] });
		const panels = new MetricPanels('j', 'loss', [summary('lr', 3)], fetcher);
		panels.receiveRows([row(4, 3, { lr: 3 }), row(5, 4, { lr: 4 }), row(6, 5, { lr: 'NaN' })]);
		await panels.series('lr').loadHistory(100);
		const steps = panels
			.series('lr')
			.chartPoints(100, 10)
			.map((p) => p.step);
		expect(steps).toEqual([1, 2, 3, 4, 5]);
	});

	it('zooms by a range read and keeps following live values when the range reaches the end', async () => {
		const { fetcher, asked } = fakeFetch({ lr: Array.from({ length: 100 }, (_, i) => i) });
		const panels = new MetricPanels('j', 'loss', [summary('lr', 100)], fetcher);
		const lr = panels.series('lr');
		await lr.zoomTo([90, 100], 300);
		expect(asked.at(-1)).toBe('/api/training/jobs/j/metrics/range?key=lr&fromStep=90&toStep=100&width=300');
		expect(lr.zoomPoints!.map((p) => p.step)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
		panels.receiveRows([row(101, 101, { lr: 5 })]);
		expect(lr.zoom).toEqual([90, 101]);
		expect(lr.zoomPoints!.at(-1)!.step).toBe(101);

		await lr.zoomTo([10, 20], 300);
		panels.receiveRows([row(102, 102, { lr: 6 })]);
		expect(lr.zoom).toEqual([10, 20]);
		expect(lr.zoomPoints!.at(-1)!.step).toBe(20);
		await lr.zoomTo(null, 300);
		expect(lr.zoomPoints).toBeUndefined();
	});
});

describe('sections', () => {
	it('groups by the part before the first slash, ungrouped first, and filters by name', () => {
		const keys = ['val/loss', 'lr', 'system/gpu.0.util', 'grad_norm', 'val/accuracy'];
		expect(sectionsOf(keys)).toEqual([
			{ group: '', keys: ['lr', 'grad_norm'] },
			{ group: 'system', keys: ['system/gpu.0.util'] },
			{ group: 'val', keys: ['val/loss', 'val/accuracy'] }
		]);
		expect(sectionsOf(keys, 'VAL/')).toEqual([{ group: 'val', keys: ['val/loss', 'val/accuracy'] }]);
	});

	it('remembers folded sections in storage', () => {
		const store = new Map<string, string>();
		const storage = {
			getItem: (k: string) => store.get(k) ?? null,
			setItem: (k: string, v: string) => store.set(k, v)
		};
		const first = new CollapsedSections(() => storage as unknown as Storage);
		first.toggle('system');
		const second = new CollapsedSections(() => storage as unknown as Storage);
		second.load();
		expect([...second.collapsed]).toEqual(['system']);
	});
});

describe('KeySeries.zoomPoints', () => {
	it('is a new array after live values arrive, so a chart given it redraws', async () => {
		const { fetcher } = fakeFetch({ lr: [1, 2, 3] });
		const panels = new MetricPanels('j', 'loss', [summary('lr', 3)], fetcher);
		const lr = panels.series('lr');
		await lr.zoomTo([1, 3], 100);
		const before = lr.zoomPoints;
		expect(lr.zoomPoints).toBe(before);
		panels.receiveRows([row(4, 4, { lr: 4 })]);
		expect(lr.zoomPoints).not.toBe(before);
		expect(lr.zoomPoints!.map((p) => p.step)).toEqual([1, 2, 3, 4]);
	});
});
