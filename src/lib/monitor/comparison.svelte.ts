import { isTerminal, type Job, type MetricPoint } from '$lib/training/job';
import { JobMonitor } from './job-monitor.svelte';

/**
 * Browsers open at most 6 HTTP/1.1 connections to one server, and an event stream holds one
 * for as long as it runs: the first LIVE_STREAMS unfinished runs follow their stream, the
 * others (and the page's own requests) keep the remaining connections, the extra runs
 * being polled every POLL_MS.
 */
export const LIVE_STREAMS = 4;
export const POLL_MS = 3_000;

/**
 * The runs of the compare page in the browser: one JobMonitor each, fed with its curve
 * downsampled on the server to the chart's width, then live points.
 */
export class Comparison {
	monitors = $state.raw<JobMonitor[]>([]);
	state = $state<'loading' | 'ready' | 'failed'>('loading');
	error = $state<string | null>(null);
	#polled: JobMonitor[] = [];
	#timer: ReturnType<typeof setInterval> | undefined;
	#closed = false;

	constructor(private readonly jobs: Job[]) {}

	/** Reads every curve in at most `maxPoints` points (server-side M4), then follows the unfinished runs. */
	async load(maxPoints: number): Promise<void> {
		try {
			const histories = await Promise.all(this.jobs.map((job) => fetchCurve(job.id, maxPoints)));
			if (this.#closed) return;
			this.monitors = this.jobs.map((job, i) => new JobMonitor(job, histories[i]!));
			this.state = 'ready';
		} catch (error) {
			this.error = (error as Error).message;
			this.state = 'failed';
			return;
		}
		let streams = 0;
		for (const monitor of this.monitors) {
			if (isTerminal(monitor.job.status)) continue;
			if (streams < LIVE_STREAMS) {
				monitor.connect();
				streams++;
			} else {
				this.#polled.push(monitor);
			}
		}
		if (this.#polled.length > 0) this.#timer = setInterval(() => void this.#poll(), POLL_MS);
	}

	/** Unfinished runs that are polled rather than streamed. */
	get polledCount(): number {
		return this.#polled.length;
	}

	async #poll(): Promise<void> {
		for (const monitor of this.#polled) {
			if (isTerminal(monitor.job.status)) continue;
			try {
				const page = await fetch(`/api/training/jobs/${monitor.job.id}/metrics?after=${monitor.lastStep}&limit=10000`);
				if (page.ok) monitor.receivePoints(((await page.json()) as { metrics: MetricPoint[] }).metrics);
				const job = await fetch(`/api/training/jobs/${monitor.job.id}`);
				if (job.ok) monitor.receiveStatus(((await job.json()) as { job: Job }).job);
			} catch {
				// offline for a moment: the next poll catches up from the last step
			}
		}
	}

	disconnect(): void {
		this.#closed = true;
		clearInterval(this.#timer);
		for (const monitor of this.monitors) monitor.disconnect();
	}
}

async function fetchCurve(jobId: string, maxPoints: number): Promise<MetricPoint[]> {
	const response = await fetch(`/api/training/jobs/${jobId}/metrics?maxPoints=${maxPoints}`);
	const body = (await response.json().catch(() => ({}))) as { metrics?: MetricPoint[]; error?: string };
	if (!response.ok || !body.metrics)
		throw new Error(body.error ?? `The curve of job ${jobId} could not be read (${response.status}).`);
	return body.metrics;
}
