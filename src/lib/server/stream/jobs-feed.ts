import type { Db } from '../db';
import { ALL_JOBS, type EventBus, type JobEvent } from '../events/event-bus';
import { getJobs } from '../jobs/jobs.service';
import { SseConnection, type SseOptions } from './sse-connection';
import type { JobProgress } from '../../training/job';
import { legacyPoints } from '../../training/metrics';
import { encodeMessage } from '../../training/sse';

const encoder = new TextEncoder();

/**
 * GET /api/training/stream: status changes of every job as they happen, and progress
 * coalesced to one `progress` event per interval for all jobs. One bus subscription
 * and one encoded frame serve every client, however many there are.
 */
export class JobsFeed {
	#clients = new Set<SseConnection>();
	#pending = new Map<string, JobProgress>();
	#unsubscribe: (() => void) | undefined;
	#timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly db: Db,
		private readonly bus: EventBus,
		private readonly options: SseOptions & { progressIntervalMs: number }
	) {}

	get clientCount(): number {
		return this.#clients.size;
	}

	async open(signal?: AbortSignal): Promise<Response> {
		const jobs = await getJobs(this.db);
		const connection = new SseConnection(this.options, { stream: 'jobs' }, signal);
		connection.send(encodeMessage({ event: 'jobs', data: JSON.stringify(jobs) }));
		this.#clients.add(connection);
		this.#ensureSubscribed();
		connection.onClose(() => {
			this.#clients.delete(connection);
			if (this.#clients.size === 0) this.#release();
		});
		return connection.response;
	}

	#ensureSubscribed(): void {
		if (this.#unsubscribe) return;
		this.#unsubscribe = this.bus.subscribe(ALL_JOBS, (event) => this.#onEvent(event));
		this.#timer = setInterval(() => this.#flush(), this.options.progressIntervalMs);
	}

	#release(): void {
		this.#unsubscribe?.();
		this.#unsubscribe = undefined;
		clearInterval(this.#timer);
		this.#pending.clear();
	}

	#onEvent(event: JobEvent): void {
		if (event.type === 'status') {
			// Progress queued before a status change would arrive after it and look stale.
			this.#flush();
			this.#broadcast(encodeMessage({ event: 'status', data: JSON.stringify(event.job) }));
			return;
		}
		// Each job's primary metric (and its companion) as latestLoss / latestAccuracy.
		const previous = this.#pending.get(event.jobId);
		const lastPoint = legacyPoints(event.rows, event.primary).at(-1);
		const lastStep = Math.max(previous?.currentStep ?? 0, ...event.rows.map((row) => row.step));
		this.#pending.set(event.jobId, {
			id: event.jobId,
			primaryMetric: event.primary,
			currentStep: lastStep,
			latestLoss: lastPoint ? lastPoint.loss : (previous?.latestLoss ?? null),
			latestAccuracy: lastPoint ? lastPoint.accuracy : (previous?.latestAccuracy ?? null)
		});
	}

	#flush(): void {
		if (this.#pending.size === 0) return;
		const progress = [...this.#pending.values()];
		this.#pending.clear();
		this.#broadcast(encodeMessage({ event: 'progress', data: JSON.stringify(progress) }));
	}

	#broadcast(frame: string): void {
		const bytes = encoder.encode(frame);
		for (const client of this.#clients) client.send(bytes);
	}
}
