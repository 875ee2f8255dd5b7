import { M4Accumulator } from '$lib/training/downsample';
import { isTerminal, type Job, type JobStatus, type MetricPoint } from '$lib/training/job';
import { companionKey } from '$lib/training/metrics';
import { streamValue, type StreamRow } from '$lib/training/stream-rows';
import { WatchedEventSource, type EventSourceLike } from './event-stream';

export type { EventSourceLike };

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface Transition {
	from: JobStatus;
	to: JobStatus;
	job: Job;
}

const CLOSED = 2;

export interface JobMonitorOptions {
	/** Called once for each status change seen while the page is open (not for the status it loaded with). */
	onTransition?: (transition: Transition) => void;
	openEventSource?: (url: string) => EventSourceLike;
	/**
	 * Follow the named-metrics stream (v=2) from this position: every key arrives, and
	 * `onRows` hears each row; the headline takes the primary metric from them. Without it,
	 * the stream of today's points (v=1) from the last step.
	 */
	position?: number;
	onRows?: (rows: StreamRow[]) => void;
	/** The job's primary metric changed (its first values chose it): the headline's history is another key's. */
	onPrimaryMetric?: (job: Job) => void;
}

/**
 * One job's live state in the browser: the job, every point known (the downsampled
 * history the page loaded with, then every live point), and the stream's health.
 * Points are kept outside Svelte's deep reactivity (a million proxied objects would
 * be slow); `revision` says when they changed.
 */
export class JobMonitor {
	job = $state.raw<Job>() as Job;
	/**
	 * The run's length in steps (its planned steps, or more once a script logs past them) and
	 * its name, apart from `job`, which changes with every point: the page's many charts read
	 * these, and a change to a signal walks everything downstream of it (with 100 panels
	 * reading `job`, 10 ms per received batch, half the live page's script time).
	 */
	runSteps = $state(0);
	name = $state('');
	connection = $state<ConnectionState>('connecting');
	revision = $state(0);

	#points: MetricPoint[];
	#source: EventSourceLike | undefined;
	#chart: { columns: number; fed: number; accumulator: M4Accumulator<MetricPoint> } | undefined;

	constructor(
		job: Job,
		history: MetricPoint[],
		private readonly options: JobMonitorOptions = {}
	) {
		this.#setJob(job);
		this.#points = history.slice();
	}

	#setJob(job: Job): void {
		this.job = job;
		// Assigning an equal primitive changes nothing downstream.
		this.runSteps = Math.max(job.totalSteps, job.currentStep);
		this.name = job.name;
	}

	get lastStep(): number {
		return this.#points.at(-1)?.step ?? 0;
	}

	get points(): readonly MetricPoint[] {
		void this.revision;
		return this.#points;
	}

	/** Follows the job's stream from the last step the page has. */
	connect(): void {
		if (this.#source) return;
		const { position } = this.options;
		const url =
			position === undefined
				? `/api/training/jobs/${this.job.id}/stream?after=${this.lastStep}`
				: `/api/training/jobs/${this.job.id}/stream?v=2&after=${position}`;
		const source = (this.options.openEventSource ?? ((u) => new WatchedEventSource(u)))(url);
		this.#source = source;
		this.connection = 'connecting';
		source.onopen = () => (this.connection = 'live');
		source.onerror = () => {
			// The source reconnects by itself (sending Last-Event-ID) unless the server said 204.
			this.connection = source.readyState === CLOSED ? 'ended' : 'reconnecting';
			this.#endIfFinished();
		};
		source.addEventListener('status', (event) => this.receiveStatus(JSON.parse(event.data) as Job));
		source.addEventListener('metrics', (event) => this.receivePoints(JSON.parse(event.data) as MetricPoint[]));
		source.addEventListener('values', (event) => this.receiveRows(JSON.parse(event.data) as StreamRow[]));
	}

	/** Rows of the named-metrics stream: the primary metric (with its companion) feeds the headline. */
	receiveRows(rows: StreamRow[]): void {
		// Keys first: a status that ends the stream may follow in the same call chain.
		this.options.onRows?.(rows);
		const primary = this.job.primaryMetric;
		const companion = companionKey(primary);
		const points: MetricPoint[] = [];
		for (const row of rows) {
			const loss = row.values[primary];
			if (loss === undefined) continue;
			const accuracy = companion === undefined ? undefined : row.values[companion];
			points.push({
				step: row.step,
				epoch: row.epoch,
				loss: streamValue(loss),
				accuracy: accuracy === undefined ? null : streamValue(accuracy),
				recordedAt: row.recordedAt
			});
		}
		if (points.length > 0) this.receivePoints(points);
	}

	/** Finished, with every point: the stream's end is expected, not a fault to reconnect from. */
	get finished(): boolean {
		return isTerminal(this.job.status) && this.lastStep >= this.job.currentStep;
	}

	#endIfFinished(): void {
		if (!this.finished) return;
		this.disconnect();
		this.connection = 'ended';
	}

	disconnect(): void {
		this.#source?.close();
		this.#source = undefined;
	}

	receiveStatus(job: Job): void {
		const from = this.job.status;
		const primary = this.job.primaryMetric;
		this.#setJob(job);
		if (job.status !== from) this.options.onTransition?.({ from, to: job.status, job });
		if (job.primaryMetric !== primary) this.options.onPrimaryMetric?.(job);
		this.#endIfFinished();
	}

	/** Appends points past the last known step; a point already drawn is never drawn twice. */
	receivePoints(points: MetricPoint[]): void {
		const fresh = points.filter((point) => point.step > this.lastStep);
		if (fresh.length === 0) return;
		this.#points.push(...fresh);
		const last = fresh.at(-1)!;
		// A terminal status may have come first with the final step: never move it back.
		const currentStep = Math.max(this.job.currentStep, last.step);
		this.#setJob({ ...this.job, currentStep, latestLoss: last.loss, latestAccuracy: last.accuracy });
		this.revision++;
		this.#endIfFinished();
	}

	/**
	 * The points to draw at `columns` pixel columns over the whole run (step 1 to the last
	 * step): M4, updated incrementally as points arrive, rebuilt only when the width changes.
	 */
	chartPoints(columns: number): MetricPoint[] {
		void this.revision;
		const total = Math.max(this.job.totalSteps, this.lastStep, 1);
		if (!this.#chart || this.#chart.columns !== columns) {
			this.#chart = { columns, fed: 0, accumulator: new M4Accumulator<MetricPoint>(1, total, columns) };
		}
		const chart = this.#chart;
		for (; chart.fed < this.#points.length; chart.fed++) chart.accumulator.add(this.#points[chart.fed]!);
		return chart.accumulator.points;
	}
}
