import { isTerminal, type Job, type MetricPoint } from '$lib/training/job';
import { VALUES_PER_COLUMN } from '$lib/training/downsample';
import { numericValue, type SeriesValue } from '$lib/training/metrics';
import { JobMonitor } from './job-monitor.svelte';
import type { JobsLive } from './jobs-live.svelte';

/**
 * Browsers open at most 6 HTTP/1.1 connections to one server, and an event stream holds one
 * for as long as it runs: the first LIVE_STREAMS unfinished runs follow their stream, the
 * others (and the page's own requests) keep the remaining connections, the extra runs
 * being polled every POLL_MS.
 */
export const LIVE_STREAMS = 4;
export const POLL_MS = 3_000;

/**
 * Every run's first read is at one resolution, whatever the chart's width: M4 over 600
 * columns, half the widest chart the layout allows (its content is at most 1,200 px), the
 * resolution the server's block extremes are allowed to give too (readKeyCurve), so that a
 * long run is read from them. The URLs are then known before the page's JavaScript runs,
 * and the document preloads them (firstReadUrl in the page's <head>): the reads start with
 * the page, not a second later once it has hydrated and measured itself. A zoom reads
 * at the chart's full width.
 */
export const FIRST_READ_COLUMNS = 600;
const FIRST_READ_POINTS = FIRST_READ_COLUMNS * VALUES_PER_COLUMN;

/** The first read of one run's `key` (fetch it with this very URL, or the preload is wasted). */
export function firstReadUrl(jobId: string, key: string): string {
	return `/api/training/jobs/${jobId}/metrics?key=${encodeURIComponent(key)}&maxPoints=${FIRST_READ_POINTS}`;
}

/**
 * The runs of the compare page in the browser: one JobMonitor each, fed with its curve
 * downsampled on the server (firstReadUrl), then live points; the monitor downsamples again
 * to the chart's width (chartPoints).
 */
export class Comparison {
	monitors = $state.raw<JobMonitor[]>([]);
	state = $state<'loading' | 'ready' | 'failed'>('loading');
	error = $state<string | null>(null);
	#polled: JobMonitor[] = [];
	#timer: ReturnType<typeof setInterval> | undefined;
	#closed = false;

	constructor(private readonly jobs: Job[]) {}

	/** Reads every curve (firstReadUrl), then follows the unfinished runs. */
	async load(): Promise<void> {
		try {
			const histories = await Promise.all(this.jobs.map((job) => fetchPrimaryCurve(job)));
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

/**
 * A run's primary metric downsampled, as points a JobMonitor follows. Read as a key, not as
 * today's points (GET …/metrics?maxPoints): the compare chart draws no accuracy, and today's
 * points look up the companion's value at every step and carry it (the bench's compare: 731 kB
 * a run at ~7,000 points before, 140 kB now at 2,400 as a key).
 */
async function fetchPrimaryCurve(job: Job): Promise<MetricPoint[]> {
	const values = await fetchSeries(firstReadUrl(job.id, job.primaryMetric));
	return values.map((v) => ({ step: v.step, epoch: v.epoch, loss: v.loss, accuracy: null, recordedAt: v.recordedAt }));
}

/** A point of a compared key, as the compare chart draws it (`loss` is the key's value). */
export interface KeyPoint {
	step: number;
	epoch: number;
	loss: number;
	recordedAt: string;
}

const toPoint = (v: SeriesValue): KeyPoint => ({
	step: v.step,
	epoch: v.epoch,
	loss: numericValue(v),
	recordedAt: v.recordedAt
});

async function fetchSeries(url: string, fetcher: typeof fetch = fetch): Promise<KeyPoint[]> {
	const response = await fetcher(url);
	const body = (await response.json().catch(() => ({}))) as {
		series?: { values: SeriesValue[] }[];
		values?: SeriesValue[];
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

/** The least time between two reads of one run's new values: the feed's progress comes 4 times a second. */
export const FOLLOW_MIN_MS = 1_000;

interface Followed {
	/** The run's step (any key) when its values were last read: a read is due once the feed reports more. */
	checked: number;
	reading: boolean;
	/** The feed moved on during a read, or inside FOLLOW_MIN_MS of the last one. */
	due: boolean;
	readAt: number;
	timer?: ReturnType<typeof setTimeout>;
}

/**
 * The runs of the compare page by a key other than their primary metric: each run's values
 * of the key downsampled on the server, then live. A key of its own has no stream of today's
 * points, and a stream per run would take the browser's connections: the page follows the
 * tab's one jobs feed instead (follow()), and reads a run's new values of the key when the
 * feed says the run has moved on (at most once per FOLLOW_MIN_MS each).
 */
export class KeyComparison {
	runs = $state.raw<{ job: Job; points: KeyPoint[] }[]>([]);
	state = $state<'loading' | 'ready' | 'failed'>('loading');
	error = $state<string | null>(null);
	#closed = false;
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, not state
	#followed = new Map<string, Followed>();
	#unlisten: (() => void) | undefined;

	constructor(
		private readonly jobs: Job[],
		readonly key: string,
		private readonly fetcher: typeof fetch = (...args) => fetch(...args)
	) {}

	async load(): Promise<void> {
		try {
			const curves = await Promise.all(
				this.jobs.map((job) => fetchSeries(firstReadUrl(job.id, this.key), this.fetcher))
			);
			if (this.#closed) return;
			this.runs = this.jobs.map((job, i) => ({ job, points: curves[i]! }));
			this.state = 'ready';
		} catch (error) {
			this.error = (error as Error).message;
			this.state = 'failed';
			return;
		}
		for (const run of this.runs) {
			// Steps the feed reported while the curves were read are read again: a value is never missed.
			const known = this.#followed.get(run.job.id);
			this.#followed.set(run.job.id, { checked: run.job.currentStep, reading: false, due: false, readAt: 0 });
			if (known && known.checked > run.job.currentStep) this.#moved(run.job.id, known.checked);
		}
	}

	/** Follows the feed until disconnect(): statuses, and new values when a run moves on. */
	follow(feed: JobsLive): void {
		this.#unlisten?.();
		this.#unlisten = feed.listen({
			progress: (progress) => {
				for (const entry of progress) this.#update(entry.id, (job) => ({ ...job, ...entry }), entry.currentStep);
			},
			status: (job) => this.#update(job.id, () => job, job.currentStep),
			// After a reconnect: whatever happened meanwhile.
			snapshot: (jobs) => {
				for (const job of jobs) this.#update(job.id, () => job, job.currentStep);
			}
		});
	}

	#update(id: string, next: (job: Job) => Job, step: number): void {
		if (this.#closed || !this.jobs.some((job) => job.id === id)) return;
		if (this.state !== 'ready') {
			// Remembered until the curves are in (see load).
			const known = this.#followed.get(id);
			this.#followed.set(id, { checked: Math.max(known?.checked ?? 0, step), reading: false, due: false, readAt: 0 });
			return;
		}
		const run = this.runs.find((r) => r.job.id === id);
		if (!run) return;
		const job = next(run.job);
		if (job.status !== run.job.status || job.currentStep > run.job.currentStep || job.latestLoss !== run.job.latestLoss)
			this.runs = this.runs.map((r) =>
				r.job.id === id ? { ...r, job: { ...job, currentStep: Math.max(job.currentStep, r.job.currentStep) } } : r
			);
		this.#moved(id, step);
	}

	#moved(id: string, step: number): void {
		const followed = this.#followed.get(id);
		if (!followed || step <= followed.checked) return;
		followed.checked = step;
		this.#schedule(id, followed);
	}

	#schedule(id: string, followed: Followed): void {
		if (followed.reading || followed.timer) {
			followed.due = true;
			return;
		}
		const wait = followed.readAt + FOLLOW_MIN_MS - Date.now();
		if (wait > 0) {
			followed.timer = setTimeout(() => {
				followed.timer = undefined;
				void this.#read(id, followed);
			}, wait);
			return;
		}
		void this.#read(id, followed);
	}

	async #read(id: string, followed: Followed): Promise<void> {
		if (this.#closed) return;
		followed.reading = true;
		followed.due = false;
		followed.readAt = Date.now();
		try {
			const run = this.runs.find((r) => r.job.id === id);
			const after = run?.points.at(-1)?.step ?? 0;
			const fresh = await fetchSeries(
				`/api/training/jobs/${id}/metrics?key=${encodeURIComponent(this.key)}&after=${after}&limit=10000`,
				this.fetcher
			);
			if (this.#closed || fresh.length === 0) return;
			this.runs = this.runs.map((r) => {
				if (r.job.id !== id) return r;
				const last = r.points.at(-1)?.step ?? 0;
				return { ...r, points: [...r.points, ...fresh.filter((p) => p.step > last)] };
			});
		} catch {
			followed.due = true; // offline for a moment: tried again after FOLLOW_MIN_MS
		} finally {
			followed.reading = false;
			if (followed.due && !this.#closed) this.#schedule(id, followed);
		}
	}

	disconnect(): void {
		this.#closed = true;
		this.#unlisten?.();
		for (const followed of this.#followed.values()) clearTimeout(followed.timer);
	}
}
