import { sql } from 'kysely';
import type postgres from 'postgres';
import type { Db } from '../db';
import { findJob } from '../jobs/jobs.repository';
import { toJob } from '../jobs/jobs.table';
import { log } from '../log';
import { ALL_JOBS } from './event-bus';
import type { JobEvents } from './job-events';
import { EVENTS_CHANNEL, type Notification } from './notify';
import type { JobStatus, MetricPoint } from '../../training/job';

/** Points read per job when catching up after the listener reconnects; the rest follow by the streams' own gap reads. */
const CATCH_UP_LIMIT = 10_000;

/**
 * Brings other instances' changes to this process's event bus: one LISTEN connection per
 * instance; a notification names jobs and steps (never data), and the rows are read
 * here, so this instance's streams and feed see points and status changes of jobs that
 * another instance simulates, or that a script posted to another instance.
 * Notifications sent while the connection is down are lost: after every (re)connect,
 * the jobs seen so far are read again from the database, from the last step published.
 */
export class NotificationRelay {
	/** The last step published on this bus, per job. */
	#lastStep = new Map<string, number>();
	#lastStatus = new Map<string, JobStatus>();
	#queue: Promise<void> = Promise.resolve();
	#unsubscribe: () => void;

	constructor(
		private readonly db: Db,
		private readonly client: postgres.Sql,
		private readonly events: JobEvents
	) {
		this.#unsubscribe = events.bus.subscribe(ALL_JOBS, (event) => {
			if (event.type === 'points') {
				const last = event.points.at(-1)?.step ?? 0;
				if (last > (this.#lastStep.get(event.jobId) ?? 0)) this.#lastStep.set(event.jobId, last);
			} else {
				this.#lastStatus.set(event.jobId, event.job.status);
			}
		});
	}

	async start(): Promise<void> {
		await this.client.listen(
			EVENTS_CHANNEL,
			(payload) => this.#enqueue(() => this.#onNotification(payload)),
			() => this.#enqueue(() => this.#catchUp())
		);
	}

	/** Stops relaying; the LISTEN connection closes with the client (postgres.js end()). */
	async stop(): Promise<void> {
		this.#unsubscribe();
		await this.#queue;
	}

	/** One at a time, in arrival order: a job's points must reach the bus in step order. */
	#enqueue(work: () => Promise<void>): void {
		this.#queue = this.#queue.then(work).catch((error) => {
			log.warn("could not relay another instance's change; streams catch up from the database", { error });
		});
	}

	async #onNotification(payload: string): Promise<void> {
		let message: Notification;
		try {
			message = JSON.parse(payload) as Notification;
		} catch {
			log.warn('ignored a malformed notification', { payload: payload.slice(0, 200) });
			return;
		}
		if (message.i === this.events.instanceId) return;
		if (message.p?.length) await this.#publishPoints(message.p);
		for (const [jobId] of message.s ?? []) await this.#publishStatus(jobId);
	}

	/** Reads the notified points that this bus has not had yet, and publishes them per job. */
	async #publishPoints(entries: [string, number][]): Promise<void> {
		const fresh = entries.filter(([jobId, step]) => step > (this.#lastStep.get(jobId) ?? 0));
		if (fresh.length === 0) return;
		const { rows } = await sql<{
			job_id: string;
			step: number;
			epoch: number;
			loss: number;
			accuracy: number | null;
			recorded_at: Date | string;
		}>`
			select m.job_id, m.step, m.epoch, m.loss, m.accuracy, m.recorded_at
			from unnest(${fresh.map(([jobId]) => jobId)}::uuid[], ${fresh.map(([, step]) => step)}::integer[]) as n(job_id, step)
			join metrics m on m.job_id = n.job_id and m.step = n.step
			order by m.job_id, m.step`.execute(this.db);
		this.#publishRows(rows);
	}

	#publishRows(
		rows: {
			job_id: string;
			step: number;
			epoch: number;
			loss: number;
			accuracy: number | null;
			recorded_at: Date | string;
		}[]
	): void {
		const byJob = new Map<string, MetricPoint[]>();
		for (const row of rows) {
			let points = byJob.get(row.job_id);
			if (!points) byJob.set(row.job_id, (points = []));
			points.push({
				step: row.step,
				epoch: row.epoch,
				loss: row.loss,
				accuracy: row.accuracy,
				recordedAt: new Date(row.recorded_at).toISOString()
			});
		}
		for (const [jobId, points] of byJob) {
			const after = this.#lastStep.get(jobId) ?? 0;
			const unseen = points.filter((point) => point.step > after);
			if (unseen.length > 0) this.events.pointsCommitted(jobId, unseen);
		}
	}

	async #publishStatus(jobId: string): Promise<void> {
		const row = await findJob(this.db, jobId);
		if (row) this.events.bus.publish({ type: 'status', jobId, job: toJob(row) });
	}

	/** After a (re)connect: what the jobs seen so far did while nobody here listened. */
	async #catchUp(): Promise<void> {
		const jobIds = [...new Set([...this.#lastStep.keys(), ...this.#lastStatus.keys()])];
		if (jobIds.length === 0) return;
		const { rows } = await sql<{
			job_id: string;
			step: number;
			epoch: number;
			loss: number;
			accuracy: number | null;
			recorded_at: Date | string;
		}>`
			select m.job_id, m.step, m.epoch, m.loss, m.accuracy, m.recorded_at
			from unnest(${jobIds}::uuid[], ${jobIds.map((id) => this.#lastStep.get(id) ?? 0)}::integer[]) as n(job_id, after_step)
			cross join lateral (
				select * from metrics where job_id = n.job_id and step > n.after_step order by step limit ${CATCH_UP_LIMIT}
			) m
			order by m.job_id, m.step`.execute(this.db);
		this.#publishRows(rows);
		for (const jobId of jobIds) {
			const row = await findJob(this.db, jobId);
			if (row && row.status !== this.#lastStatus.get(jobId))
				this.events.bus.publish({ type: 'status', jobId, job: toJob(row) });
		}
		log.info('event listener connected; caught up', { jobs: jobIds.length, points: rows.length });
	}
}
