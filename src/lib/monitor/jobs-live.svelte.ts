import type { Job, JobProgress } from '$lib/training/job';

const newestFirst = (a: Job, b: Job) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

/** The jobs list, kept current by GET /api/training/stream (status changes and coalesced progress). */
export class JobsLive {
	jobs = $state.raw<Job[]>([]);
	#source: EventSource | undefined;

	constructor(initial: Job[]) {
		this.jobs = initial;
	}

	connect(): void {
		if (this.#source) return;
		const source = new EventSource('/api/training/stream');
		this.#source = source;
		source.addEventListener('jobs', (event) => (this.jobs = (JSON.parse(event.data) as Job[]).sort(newestFirst)));
		source.addEventListener('status', (event) => this.applyStatus(JSON.parse(event.data) as Job));
		source.addEventListener('progress', (event) => this.applyProgress(JSON.parse(event.data) as JobProgress[]));
	}

	disconnect(): void {
		this.#source?.close();
		this.#source = undefined;
	}

	applyStatus(job: Job): void {
		const others = this.jobs.filter((existing) => existing.id !== job.id);
		this.jobs = [...others, job].sort(newestFirst);
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
}
