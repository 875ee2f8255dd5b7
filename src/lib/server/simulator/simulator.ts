import type { Db } from '../db';
import { ALL_JOBS } from '../events/event-bus';
import type { JobEvents } from '../events/job-events';
import { findJob } from '../jobs/jobs.repository';
import { toJob } from '../jobs/jobs.table';
import { log } from '../log';
import type { BlockRollups } from '../metrics/block-rollups';
import { planTick } from './plan';
import { releaseLeases, renewAndClaimLeases } from './leases.repository';
import { listRunningJobs, type RunningJob } from './simulator.repository';
import { commitMetrics, publishCommitted } from '../metrics/metrics.writer';

export interface SimulatorOptions {
	/** Time between ticks; each tick adds one point to every running job. */
	stepMs: number;
	/** The longest wait between retries while the database fails. */
	maxBackoffMs?: number;
	/** How long a claim on a running job lasts unless renewed (see leases.repository). */
	leaseMs?: number;
	/** How often leases are renewed and the held jobs read again; by default a fifth of the lease, at most 1 s. */
	refreshMs?: number;
}

export interface TickSummary {
	points: number;
	finished: number;
}

const DEFAULT_LEASE_MS = 1_500;

/**
 * Advances every running job it holds the lease of by one step per tick, on the server,
 * whether or not anyone watches. All state lives in the database: a tick reads each
 * running job's last committed step and writes the next one, so a restarted process,
 * a failed tick retried, or another instance taking over an expired lease continues
 * exactly where the database says, with no gap and no duplicate.
 */
export class Simulator {
	#timer: NodeJS.Timeout | undefined;
	#active = false;
	#current: Promise<void> = Promise.resolve();
	#stopping: Promise<void> = Promise.resolve();
	#consecutiveFailures = 0;
	/**
	 * The running jobs this instance holds, and their last committed steps, as the last
	 * read and the commits since have left them. It saves a read per tick; it is dropped
	 * (leases renewed or claimed, and read again) on any status change, after a failed
	 * tick, and every `refreshMs`, so changes made by other instances are picked up too.
	 */
	#running: Map<string, RunningJob> | undefined;
	#readAt = 0;

	constructor(
		private readonly db: Db,
		private readonly events: JobEvents,
		private readonly rollups: BlockRollups | undefined,
		private readonly options: SimulatorOptions
	) {
		events.bus.subscribe(ALL_JOBS, (event) => {
			if (event.type === 'status') this.#running = undefined;
		});
	}

	get #leaseMs(): number {
		return this.options.leaseMs ?? DEFAULT_LEASE_MS;
	}

	async #runningJobs(): Promise<Map<string, RunningJob>> {
		const refreshMs = this.options.refreshMs ?? Math.min(1_000, this.#leaseMs / 5);
		if (!this.#running || performance.now() - this.#readAt > refreshMs) {
			this.#readAt = performance.now();
			const owner = this.events.instanceId;
			await renewAndClaimLeases(this.db, owner, this.#leaseMs);
			this.#running = new Map((await listRunningJobs(this.db, owner)).map((job) => [job.id, job]));
		}
		return this.#running;
	}

	get running(): boolean {
		return this.#active;
	}

	start(): void {
		if (this.#active) return;
		this.#active = true;
		this.#schedule(0);
	}

	/**
	 * Stops the loop, waits for a tick in flight, and hands this instance's jobs to the
	 * others. Every caller gets the same stop: a shutdown that calls it twice (on the
	 * signal, then on the HTTP server's close) must not close the database under the
	 * release of the leases.
	 */
	stop(): Promise<void> {
		if (!this.#active) return this.#stopping;
		this.#active = false;
		clearTimeout(this.#timer);
		this.#stopping = this.#stop();
		return this.#stopping;
	}

	async #stop(): Promise<void> {
		await this.#current;
		this.#running = undefined;
		try {
			await releaseLeases(this.db, this.events.instanceId);
		} catch (error) {
			// Other instances take the jobs over when the leases expire instead.
			log.warn('could not release job leases on stop', { instance: this.events.instanceId, error });
		}
	}

	/** One tick: read, plan, commit in one statement, then publish what was committed. */
	async tick(): Promise<TickSummary> {
		const running = await this.#runningJobs();
		if (running.size === 0) return { points: 0, finished: 0 };
		const { rows, finishes } = planTick([...running.values()]);
		let result;
		try {
			result = await commitMetrics(
				this.db,
				this.events.instanceId,
				{ kind: 'lease', instanceId: this.events.instanceId },
				rows,
				finishes
			);
		} catch (error) {
			// The commit may or may not have happened: read the truth next time.
			this.#running = undefined;
			throw error;
		}

		const primaries = new Map(rows.map((row) => [row.jobId, running.get(row.jobId)?.primaryMetric]));
		for (const row of rows) {
			const job = running.get(row.jobId);
			if (!job) continue;
			if (result.rows.has(row.jobId)) job.lastStep = row.step;
			else running.delete(row.jobId); // no longer running: stopped elsewhere
		}
		for (const { jobId } of finishes) running.delete(jobId);
		publishCommitted(this.events, this.rollups, result, (jobId) => primaries.get(jobId) ?? 'loss');
		for (const { jobId } of result.finished) {
			const row = await findJob(this.db, jobId);
			if (row) this.events.bus.publish({ type: 'status', jobId, job: toJob(row) });
		}
		let points = 0;
		for (const list of result.rows.values()) points += list.length;
		return { points, finished: result.finished.length };
	}

	#schedule(delayMs: number): void {
		if (!this.#active) return;
		this.#timer = setTimeout(() => {
			this.#current = this.#runTick();
		}, delayMs);
	}

	async #runTick(): Promise<void> {
		const started = performance.now();
		try {
			await this.tick();
			if (this.#consecutiveFailures > 0) {
				log.info('simulator recovered', { failedTicks: this.#consecutiveFailures });
				this.#consecutiveFailures = 0;
			}
			this.#schedule(Math.max(0, this.options.stepMs - (performance.now() - started)));
		} catch (error) {
			// Nothing of a failed tick was committed, so retrying it skips no step.
			this.#consecutiveFailures++;
			const retryInMs = Math.min(
				this.options.maxBackoffMs ?? 5_000,
				this.options.stepMs * 2 ** Math.min(this.#consecutiveFailures, 16)
			);
			log.error('simulator tick failed; retrying', {
				failedTicks: this.#consecutiveFailures,
				retryInMs,
				error
			});
			this.#schedule(retryInMs);
		}
	}
}
