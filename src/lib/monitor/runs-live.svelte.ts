import type { Job, JobProgress } from '$lib/training/job';
import { WatchedEventSource, type EventSourceLike } from './event-stream';

/**
 * The rows of one page of the run table, kept current by GET /api/training/stream: status
 * changes and progress of the rows shown. A job created meanwhile joins the page only when
 * `adoptNew` says the page is the unfiltered newest-first first page (elsewhere it would
 * not belong where it would appear).
 */
export class RunsLive {
	jobs = $state.raw<Job[]>([]);
	#source: EventSourceLike | undefined;

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

	connect(): void {
		if (this.#source) return;
		// Watched: a feed silent for 2.5 heartbeats is closed and reopened (a bare EventSource hangs).
		const source = new WatchedEventSource('/api/training/stream');
		this.#source = source;
		// The feed opens (and reopens) with the newest jobs: take what is new for the rows shown.
		source.addEventListener('jobs', (event) => {
			for (const job of JSON.parse(event.data) as Job[]) this.applyStatus(job, { adopt: false });
		});
		source.addEventListener('status', (event) => this.applyStatus(JSON.parse(event.data) as Job));
		source.addEventListener('progress', (event) => this.applyProgress(JSON.parse(event.data) as JobProgress[]));
	}

	disconnect(): void {
		this.#source?.close();
		this.#source = undefined;
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

	applyProgress(progress: JobProgress[]): void {
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
