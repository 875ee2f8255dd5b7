import { describe, expect, it } from 'vitest';
import { BYTES_PER_ROW, BYTES_PER_VALUE, halves, RowQueue, valuesIn, wireBatch, type Row } from './queue';

const row = (step: number, count = 2): Row => {
	const values: Record<string, number> = {};
	for (let i = 0; i < count; i++) values[`k${i}`] = step;
	return { step, at: Date.UTC(2026, 0, 1) + step, values, count };
};

describe('the buffer between log() and the sender', () => {
	it('keeps rows in order and counts values and bytes', () => {
		const queue = new RowQueue({ maxValues: 1_000, maxBytes: 1e9 });
		for (let step = 1; step <= 5; step++) expect(queue.push(row(step))).toBe(0);
		expect(queue.length).toBe(5);
		expect(queue.values).toBe(10);
		expect(queue.bytes).toBe(5 * (BYTES_PER_ROW + 2 * BYTES_PER_VALUE));
		expect(queue.shift()!.step).toBe(1);
		expect(queue.values).toBe(8);
	});

	it('drops the oldest rows when over the value limit, and says how many values went', () => {
		const queue = new RowQueue({ maxValues: 100, maxBytes: 1e9 });
		let dropped = 0;
		for (let step = 1; step <= 300; step++) dropped += queue.push(row(step));
		expect(dropped).toBe(500);
		expect(queue.values).toBe(100);
		expect(queue.peek()!.step).toBe(251);
	});

	it('drops the oldest rows when over the byte limit', () => {
		const perRow = BYTES_PER_ROW + 2 * BYTES_PER_VALUE;
		const queue = new RowQueue({ maxValues: 1e9, maxBytes: perRow * 10 });
		for (let step = 1; step <= 25; step++) queue.push(row(step));
		expect(queue.length).toBe(10);
		expect(queue.peek()!.step).toBe(16);
	});

	it('takes batches of whole rows up to a value count (a bigger row alone), oldest first', () => {
		const queue = new RowQueue({ maxValues: 1e9, maxBytes: 1e12 });
		for (let step = 1; step <= 10; step++) queue.push(row(step, 3));
		queue.push(row(11, 50));
		expect(queue.take(10).map((r) => r.step)).toEqual([1, 2, 3]);
		expect(queue.take(9).map((r) => r.step)).toEqual([4, 5, 6]);
		expect(queue.take(20).map((r) => r.step)).toEqual([7, 8, 9, 10]);
		expect(queue.take(10).map((r) => r.step)).toEqual([11]);
		expect(queue.take(10)).toEqual([]);
		expect(queue.values).toBe(0);
		expect(queue.bytes).toBe(0);
	});

	it('stays in order over many pushes and shifts (the head moves and is compacted)', () => {
		const queue = new RowQueue({ maxValues: 1e9, maxBytes: 1e12 });
		const seen: number[] = [];
		for (let step = 1; step <= 10_000; step++) {
			queue.push(row(step, 1));
			if (step % 3 === 0) seen.push(...queue.take(2).map((r) => r.step));
		}
		while (queue.length > 0) seen.push(queue.shift()!.step);
		expect(seen).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
	});

	it('puts an unsent batch back at the front', () => {
		const queue = new RowQueue({ maxValues: 1e9, maxBytes: 1e12 });
		for (let step = 1; step <= 4; step++) queue.push(row(step));
		const batch = queue.take(4);
		queue.push(row(5));
		queue.unshift(batch);
		expect(queue.take(100).map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
		expect(queue.values).toBe(0);
	});

	it('a batch is the API row form; a refused batch is halved to find the bad row', () => {
		expect(wireBatch([row(3, 1)])).toEqual([{ step: 3, recordedAt: '2026-01-01T00:00:00.003Z', metrics: { k0: 3 } }]);
		expect(halves([1, 2, 3, 4, 5])).toEqual([
			[1, 2],
			[3, 4, 5]
		]);
		expect(valuesIn([row(1, 2), row(2, 5)])).toBe(7);
	});
});
