import { describe, expect, it } from 'vitest';
import { job } from './job-fixture';
import { JobsLive } from './jobs-live.svelte';
import { RunsLive } from './runs-live.svelte';

const rows = (live: RunsLive) => live.jobs.map((j) => `${j.id}:${j.status}:${j.currentStep}`);

describe('RunsLive on the tab’s one jobs feed', () => {
	it('takes what the feed heard before the page followed it, where the feed is further along', () => {
		const feed = new JobsLive([
			job('done', 'completed', { currentStep: 100 }),
			job('stale', 'queued'),
			job('moving', 'running', { currentStep: 40 })
		]);
		const live = new RunsLive(
			[
				job('done', 'running', { currentStep: 90 }),
				job('stale', 'running'),
				job('moving', 'running', { currentStep: 30 })
			],
			() => true
		);
		live.follow(feed);
		expect(rows(live)).toEqual(['done:completed:100', 'stale:running:0', 'moving:running:40']);
	});

	it('follows status, progress and new jobs until it stops, with no connection of its own', () => {
		const feed = new JobsLive();
		let adopt = true;
		const live = new RunsLive([job('a', 'running')], () => adopt);
		const stop = live.follow(feed);

		feed.applyProgress([{ id: 'a', primaryMetric: 'loss', currentStep: 12, latestLoss: 0.5, latestAccuracy: 0.7 }]);
		feed.applyStatus(job('b', 'queued', { createdAt: '2026-01-02T00:00:00.000Z' }));
		adopt = false;
		feed.applyStatus(job('c', 'queued', { createdAt: '2026-01-03T00:00:00.000Z' }));
		// A reconnect's snapshot updates the rows shown and adds none.
		feed.applySnapshot([job('d', 'queued', { createdAt: '2026-01-04T00:00:00.000Z' }), job('b', 'running')]);
		expect(rows(live)).toEqual(['b:running:0', 'a:running:12']);

		stop();
		feed.applyStatus(job('a', 'completed', { currentStep: 100 }));
		expect(rows(live)).toEqual(['b:running:0', 'a:running:12']);
	});
});
