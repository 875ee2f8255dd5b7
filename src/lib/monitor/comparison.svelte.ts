import { isTerminal, type Job, type MetricPoint } from '$lib/training/job';
import type { MetricValue } from '$lib/training/metrics';
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

/** A point of a compared key, as the compare chart draws it (`loss` is the key's value). */
export interface KeyPoint {
	step: number;
	loss: number;
	recordedAt: string;
}

const toPoint = (v: MetricValue): KeyPoint => ({
	step: v.step,
	loss: v.value ?? (v.nonFinite === 'Infinity' ? Infinity : v.nonFinite === '-Infinity' ? -Infinity : Number.NaN),
	recordedAt: v.recordedAt
});

async function fetchSeries(url: string): Promise<KeyPoint[]> {
	const response = await fetch(url);
	const body = (await response.json().catch(() => ({}))) as {
		series?: { values: MetricValue[] }[];
		values?: MetricValue[];
		error?: string;
	};
	if (!response.ok) throw new Error(body.error ?? `${url} answered ${response.status}.`);
	return (body.values ?? body.series?.[0]?.values ?? []).map(toPoint);
}

/** One key of runs `jobIds` over a step range at full resolution for a chart `width` pixels wide (a zoom). */
export async function readRanges(
	runs: readonly { id: string; key: string }[],
	[fromStep, toStep]: [number, number],
	width: number
): Promise<KeyPoint[][]> {
	const w = Math.max(10, Math.min(2_500, Math.round(width)));
	return Promise.all(
		runs.map(({ id, key }) =>
			fetchSeries(
				`/api/training/jobs/${id}/metrics/range?key=${encodeURIComponent(key)}&fromStep=${fromStep}&toStep=${toStep}&width=${w}`
			)
		)
	);
}

/**
 * The runs of the compare page by a key other than their primary metric: each run's values
 * of the key downsampled on the server, then, for unfinished runs, the new values read every
 * POLL_MS (a key of its own has no stream of today's points; the page keeps its connections).
 */
export class KeyComparison {
	runs = $state.raw<{ job: Job; points: KeyPoint[] }[]>([]);
	state = $state<'loading' | 'ready' | 'failed'>('loading');
	error = $state<string | null>(null);
	#timer: ReturnType<typeof setInterval> | undefined;
	#closed = false;

	constructor(
		private readonly jobs: Job[],
		readonly key: string
	) {}

	async load(maxPoints: number): Promise<void> {
		const key = encodeURIComponent(this.key);
		try {
			const curves = await Promise.all(
				this.jobs.map((job) => fetchSeries(`/api/training/jobs/${job.id}/metrics?key=${key}&maxPoints=${maxPoints}`))
			);
			if (this.#closed) return;
			this.runs = this.jobs.map((job, i) => ({ job, points: curves[i]! }));
			this.state = 'ready';
		} catch (error) {
			this.error = (error as Error).message;
			this.state = 'failed';
			return;
		}
		if (this.runs.some((run) => !isTerminal(run.job.status))) {
			this.#timer = setInterval(() => void this.#poll(), POLL_MS);
		}
	}

	async #poll(): Promise<void> {
		const key = encodeURIComponent(this.key);
		const next = await Promise.all(
			this.runs.map(async (run) => {
				if (isTerminal(run.job.status)) return run;
				try {
					const after = run.points.at(-1)?.step ?? 0;
					const fresh = await fetchSeries(
						`/api/training/jobs/${run.job.id}/metrics?key=${key}&after=${after}&limit=10000`
					);
					const job = await fetch(`/api/training/jobs/${run.job.id}`);
					const latest = job.ok ? ((await job.json()) as { job: Job }).job : run.job;
					return { job: latest, points: fresh.length > 0 ? [...run.points, ...fresh] : run.points };
				} catch {
					return run; // offline for a moment: the next poll catches up
				}
			})
		);
		if (!this.#closed) this.runs = next;
		if (next.every((run) => isTerminal(run.job.status))) clearInterval(this.#timer);
	}

	disconnect(): void {
		this.#closed = true;
		clearInterval(this.#timer);
	}
}
