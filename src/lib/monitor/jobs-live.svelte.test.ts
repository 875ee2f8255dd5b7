import { describe, expect, it } from 'vitest';
import { job } from './job-fixture';
import { JobsLive } from './jobs-live.svelte';

describe('JobsLive', () => {
	it('reports a job that finishes while watched, once, and not jobs first seen finished', () => {
		const finished: string[] = [];
		const live = new JobsLive([job('a', 'running')], { onFinished: (j) => finished.push(`${j.id}:${j.status}`) });
		live.applySnapshot([job('a', 'running'), job('old', 'completed')]);
		live.applyStatus(job('b', 'queued'));
		live.applyStatus(job('b', 'running'));
		live.applyStatus(job('a', 'completed'));
		live.applyStatus(job('a', 'completed'));
		// After a reconnect the snapshot carries what happened meanwhile.
		live.applySnapshot([job('a', 'completed'), job('b', 'failed'), job('old', 'completed')]);
		expect(finished).toEqual(['a:completed', 'b:failed']);
		expect(live.jobs.map((j) => `${j.id}:${j.status}`)).toEqual(['old:completed', 'b:failed', 'a:completed']);
	});
});
