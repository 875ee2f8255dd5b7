import { getContext, setContext } from 'svelte';
import { isTerminal, type Job, type JobProgress } from '$lib/training/job';
import { WatchedEventSource, type EventSourceLike } from './event-stream';

const newestFirst = (a: Job, b: Job) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

/** What a page that shows jobs of its own (the run table) takes from the feed. */
export interface FeedListener {
	snapshot?(jobs: readonly Job[]): void;
	status?(job: Job): void;
	progress?(progress: readonly JobProgress[]): void;
}

export interface JobsLiveOptions {
	/** A job reached completed, failed or stopped while the feed watched it (not one it first saw that way). */
	onFinished?: (job: Job) => void;
	openEventSource?: (url: string) => EventSourceLike;
}

/**
 * Every job, kept current by GET /api/training/stream (status changes and coalesced
 * progress). A reconnect (the source resumes by itself, and gives up on a silent
 * connection) starts with a fresh `jobs` snapshot; a job that finished meanwhile is
 * reported then.
 */
export class JobsLive {
	jobs = $state.raw<Job[]>([]);
	#source: EventSourceLike | undefined;
	/** The status each job had when last seen, to tell a transition from a first sighting. */
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, not state
	#seen = new Map<string, Job['status']>();
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- subscribers, not state
	#listeners = new Set<FeedListener>();

	constructor(
		initial: Job[] = [],
		private readonly options: JobsLiveOptions = {}
	) {
		this.seed(initial);
	}

	/** The jobs a page loaded with: the baseline, not transitions. */
	seed(jobs: Job[]): void {
		for (const job of jobs) this.#seen.set(job.id, job.status);
		this.jobs = jobs.slice().sort(newestFirst);
	}

	connect(): void {
		if (this.#source) return;
		const source = (this.options.openEventSource ?? ((url) => new WatchedEventSource(url)))('/api/training/stream');
		this.#source = source;
		source.addEventListener('jobs', (event) => this.applySnapshot(JSON.parse(event.data) as Job[]));
		source.addEventListener('status', (event) => this.applyStatus(JSON.parse(event.data) as Job));
		source.addEventListener('progress', (event) => this.applyProgress(JSON.parse(event.data) as JobProgress[]));
	}

	disconnect(): void {
		this.#source?.close();
		this.#source = undefined;
	}

	/** Hears every event of the feed from now on; returns the way to stop. */
	listen(listener: FeedListener): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	applySnapshot(jobs: Job[]): void {
		for (const job of jobs) this.#observe(job);
		this.jobs = jobs.sort(newestFirst);
		for (const listener of this.#listeners) listener.snapshot?.(jobs);
	}

	applyStatus(job: Job): void {
		this.#observe(job);
		const others = this.jobs.filter((existing) => existing.id !== job.id);
		this.jobs = [...others, job].sort(newestFirst);
		for (const listener of this.#listeners) listener.status?.(job);
	}

	applyProgress(progress: JobProgress[]): void {
		// A lookup local to this call, not state: a plain Map is right here.
		// eslint-disable-next-line svelte/prefer-svelte-reactivity
		const byId = new Map(progress.map((entry) => [entry.id, entry]));
		this.jobs = this.jobs.map((job) => {
			const update = byId.get(job.id);
			return update && update.currentStep > job.currentStep ? { ...job, ...update } : job;
		});
		for (const listener of this.#listeners) listener.progress?.(progress);
	}

	#observe(job: Job): void {
		const before = this.#seen.get(job.id);
		this.#seen.set(job.id, job.status);
		if (before !== undefined && before !== job.status && isTerminal(job.status)) this.options.onFinished?.(job);
	}
}

const FEED = Symbol('jobs feed');

/** The layout's one feed for every page (toasts), shared with pages that list jobs, so a tab holds one connection. */
export function provideJobsFeed(feed: JobsLive): void {
	setContext(FEED, feed);
}

/**
 * The layout's feed, or a feed of the page's own (`owned`: the page connects and closes
 * it) where no layout provides one. Call it while the component initialises.
 */
export function useJobsFeed(): { feed: JobsLive; owned: boolean } {
	const shared = getContext<JobsLive | undefined>(FEED);
	return shared ? { feed: shared, owned: false } : { feed: new JobsLive(), owned: true };
}
