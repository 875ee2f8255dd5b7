import { isTerminal, type Job, type JobProgress } from '$lib/training/job';
import type { JobsLive } from './jobs-live.svelte';

const stage = (job: Job) => (isTerminal(job.status) ? 2 : job.status === 'running' ? 1 : 0);

/** Whether the feed's copy of a job is further along than the row the page loaded. */
const isAhead = (feed: Job, shown: Job) =>
	stage(feed) > stage(shown) || (stage(feed) === stage(shown) && feed.currentStep > shown.currentStep);

/**
 * The rows of one page of the run table, kept current by the tab's jobs feed (the
 * layout's one GET /api/training/stream): status changes and progress of the rows shown.
 * A job created meanwhile joins the page only when `adoptNew` says the page is the
 * unfiltered newest-first first page (elsewhere it would not belong where it would appear).
 */
export class RunsLive {
	jobs = $state.raw<Job[]>([]);

	constructor(
		initial: Job[],
		private readonly adoptNew: () => boolean
	) {
		this.jobs = initial;
	}

	/** A new page from the server (navigation, or after an action). */
	reset(jobs: Job[]): void {
		this.jobs = jobs;
	}

	/**
	 * Follows the feed from now on; returns the way to stop. What the feed heard between
	 * this page's load and now is taken where it is further along than the loaded rows.
	 */
	follow(feed: JobsLive): () => void {
		for (const job of feed.jobs) {
			const shown = this.jobs.find((row) => row.id === job.id);
			if (shown && isAhead(job, shown)) this.applyStatus(job);
		}
		return feed.listen({
			// The feed reopens with the newest jobs: take what is new for the rows shown.
			snapshot: (jobs) => {
				for (const job of jobs) this.applyStatus(job, { adopt: false });
			},
			status: (job) => this.applyStatus(job),
			progress: (progress) => this.applyProgress(progress)
		});
	}

	applyStatus(job: Job, { adopt = true } = {}): void {
		const index = this.jobs.findIndex((existing) => existing.id === job.id);
		if (index >= 0) {
			const shown = this.jobs[index]!;
			// The feed leaves config out; keep the one the page loaded.
			const next = { ...job, config: job.config ?? shown.config };
			this.jobs = this.jobs.map((existing, i) => (i === index ? next : existing));
		} else if (adopt && this.adoptNew() && !job.archivedAt && job.createdAt > (this.jobs[0]?.createdAt ?? '')) {
			this.jobs = [job, ...this.jobs];
		}
	}

	applyProgress(progress: readonly JobProgress[]): void {
		// A lookup local to this call, not state: a plain Map is right here.
		// eslint-disable-next-line svelte/prefer-svelte-reactivity
		const byId = new Map(progress.map((entry) => [entry.id, entry]));
		this.jobs = this.jobs.map((job) => {
			const update = byId.get(job.id);
			return update && update.currentStep > job.currentStep ? { ...job, ...update } : job;
		});
	}

	/** Rows the user just removed (deleted, or archived out of view). */
	remove(ids: readonly string[]): void {
		this.jobs = this.jobs.filter((job) => !ids.includes(job.id));
	}
}
