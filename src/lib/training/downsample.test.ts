import { describe, expect, it } from 'vitest';
import { blockAlignedGrid, downsample, evenGrid, M4Accumulator, type SeriesPoint } from './downsample';

function series(
	n: number,
	loss: (step: number) => number,
	accuracy: (step: number) => number | null = () => null
): SeriesPoint[] {
	return Array.from({ length: n }, (_, i) => ({ step: i + 1, loss: loss(i + 1), accuracy: accuracy(i + 1) }));
}

describe('M4 downsampling', () => {
	it('keeps a single spike among 1,000,000 points, and the dip too', () => {
		const points = series(1_000_000, (step) => 1 / Math.sqrt(step));
		points[612_345]!.loss = 50;
		points[271_828]!.loss = -1;
		const kept = downsample(points, 1000);
		expect(kept.length).toBeLessThanOrEqual(4000);
		expect(kept).toContainEqual(points[612_345]);
		expect(kept).toContainEqual(points[271_828]);
		expect(Math.max(...kept.map((p) => p.loss))).toBe(50);
	});

	it("keeps each column's first, last, lowest and highest points, in step order", () => {
		const points = series(1000, (step) => Math.sin(step / 7) + (step % 97 === 0 ? 3 : 0));
		const kept = downsample(points, 50);
		const steps = kept.map((p) => p.step);
		expect(steps).toEqual([...new Set(steps)].sort((a, b) => a - b));
		expect(steps[0]).toBe(1);
		expect(steps.at(-1)).toBe(1000);
		for (let spike = 97; spike <= 1000; spike += 97) expect(steps).toContain(spike);
		// Every column's range of loss is the same as in the full series.
		for (let column = 0; column < 50; column++) {
			const inColumn = (p: SeriesPoint) => Math.floor(((p.step - 1) * 50) / 1000) === column;
			const full = points.filter(inColumn).map((p) => p.loss);
			const sampled = kept.filter(inColumn).map((p) => p.loss);
			expect(Math.min(...sampled)).toBe(Math.min(...full));
			expect(Math.max(...sampled)).toBe(Math.max(...full));
		}
	});

	it('keeps accuracy extremes as well, and ignores missing accuracy', () => {
		const points = series(
			10_000,
			() => 1,
			(step) => (step === 4321 ? 0.99 : step === 8765 ? 0.01 : step % 2 ? 0.5 : null)
		);
		const steps = downsample(points, 100).map((p) => p.step);
		expect(steps).toContain(4321);
		expect(steps).toContain(8765);
	});

	it('gives the same result point by point over a fixed run length as at once', () => {
		const points = series(
			50_000,
			(step) => Math.cos(step / 300) + (step === 31_337 ? 9 : 0),
			(step) => step / 50_000
		);
		const live = new M4Accumulator<SeriesPoint>(1, 50_000, 400);
		const seen: number[] = [];
		for (const point of points) {
			live.add(point);
			if (point.step % 10_000 === 0) seen.push(live.points.length);
		}
		expect(live.points).toEqual(downsample(points, 400));
		expect(live.points).toContainEqual(points[31_336]);
		expect(seen).toEqual([...seen].sort((a, b) => a - b));
	});

	it('returns short series whole, and handles empty input and unevenly spaced steps', () => {
		const short = series(30, (s) => s);
		expect(downsample(short, 10)).toEqual(short);
		expect(downsample([], 100)).toEqual([]);
		// One column over uneven steps: first (1), highest loss (2), lowest loss (3), last (9999).
		const sparse = [1, 2, 3, 1000, 5000, 5001, 9999].map((step) => ({ step, loss: step % 3, accuracy: null }));
		expect(downsample(sparse, 1).map((p) => p.step)).toEqual([1, 2, 3, 9999]);
	});

	it('cuts block-aligned columns on block edges, never more columns than asked', () => {
		const grid = blockAlignedGrid(300, 1_000_000, 166, 256);
		expect(grid.origin).toBe(256);
		expect((grid.span / grid.count) % 256).toBe(0);
		expect(grid.count).toBeLessThanOrEqual(166);
		expect(grid.origin + grid.span).toBeGreaterThan(1_000_000);
		// Fewer steps than columns × block: one block per column.
		expect(blockAlignedGrid(1, 1000, 100, 256)).toEqual({ origin: 0, span: 1024, count: 4 });
		expect(evenGrid(1, 100, 10)).toEqual({ origin: 1, span: 100, count: 10 });
	});

	it('over the extremes of whole blocks keeps exactly what it keeps over every point', () => {
		const points = series(
			100_000,
			(step) => Math.sin(step / 500) + (step % 7919 === 0 ? 5 : 0) + (step % 3 === 0 ? 0.5 : 0),
			(step) => (step % 5 === 0 ? null : Math.cos(step / 900))
		);
		const grid = blockAlignedGrid(1, 100_000, 150, 256);
		const full = new M4Accumulator<SeriesPoint>(grid);
		for (const point of points) full.add(point);

		const blocks = new M4Accumulator<SeriesPoint>({ origin: 0, span: 256 * 391, count: 391 });
		for (const point of points) blocks.add(point);
		const fromBlocks = new M4Accumulator<SeriesPoint>(grid);
		for (const point of blocks.points) fromBlocks.add(point);

		expect(blocks.points.length).toBeLessThan(points.length / 40);
		expect(fromBlocks.points).toEqual(full.points);
	});
});
