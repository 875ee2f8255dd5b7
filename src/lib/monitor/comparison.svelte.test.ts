import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FOLLOW_MIN_MS, KeyComparison } from './comparison.svelte';
import { job } from './job-fixture';
import { JobsLive } from './jobs-live.svelte';

const value = (step: number) => ({
	key: 'val/loss',
	step,
	epoch: 1,
	value: 1 / step,
	recordedAt: '2026-01-01T00:00:00.000Z'
});
const progress = (id: string, currentStep: number) => ({
	id,
	primaryMetric: 'train/loss',
	currentStep,
	latestLoss: 0.5,
	latestAccuracy: null
});
/** Promise callbacks several awaits deep (the fake fetcher's answer, then the store's). */
const settle = async () => {
	for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('KeyComparison on the tab’s one jobs feed', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('reads a run’s new values when the feed says it moved on, at most once per FOLLOW_MIN_MS, until disconnected', async () => {
		const stored = new Map([
			['a', [value(100)]],
			['b', [value(100)]]
		]);
		const urls: string[] = [];
		const fetcher = (async (input: string) => {
			urls.push(input);
			const url = new URL(input, 'http://vapor.test');
			const id = url.pathname.split('/')[4]!;
			const after = Number(url.searchParams.get('after') ?? 0);
			const values = stored.get(id)!.filter((v) => v.step > after);
			return { ok: true, status: 200, json: async () => ({ series: [{ key: 'val/loss', values }] }) };
		}) as unknown as typeof fetch;
		const feed = new JobsLive();
		const compared = new KeyComparison(
			[job('a', 'running', { currentStep: 100 }), job('b', 'running', { currentStep: 100 })],
			'val/loss',
			fetcher
		);
		compared.follow(feed);
		await compared.load();
		expect(urls).toHaveLength(2);
		const steps = (id: string) => compared.runs.find((r) => r.job.id === id)!.points.map((p) => p.step);

		// Moved on: read at once (nothing new of this key yet).
		feed.applyProgress([progress('a', 150)]);
		await settle();
		expect(urls.at(-1)).toBe('/api/training/jobs/a/metrics?key=val%2Floss&after=100&limit=10000');
		expect(compared.runs[0]!.job.currentStep).toBe(150);

		// Moved on again within FOLLOW_MIN_MS: read once the time is up, not before.
		stored.get('a')!.push(value(200));
		feed.applyProgress([progress('a', 180)]);
		feed.applyProgress([progress('a', 200)]);
		await settle();
		expect(urls).toHaveLength(3);
		await vi.advanceTimersByTimeAsync(FOLLOW_MIN_MS);
		await settle();
		expect(urls).toHaveLength(4);
		expect(steps('a')).toEqual([100, 200]);
		expect(steps('b')).toEqual([100]);

		// A status without a new step changes the run, and reads nothing.
		feed.applyStatus(job('b', 'completed', { currentStep: 100 }));
		expect(compared.runs[1]!.job.status).toBe('completed');
		await settle();
		expect(urls).toHaveLength(4);

		compared.disconnect();
		feed.applyProgress([progress('a', 300)]);
		await vi.advanceTimersByTimeAsync(FOLLOW_MIN_MS);
		expect(urls).toHaveLength(4);
	});
});
