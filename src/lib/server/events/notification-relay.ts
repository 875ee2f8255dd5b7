import { sql } from 'kysely';
import type postgres from 'postgres';
import type { Db } from '../db';
import { findJob } from '../jobs/jobs.repository';
import { toJob } from '../jobs/jobs.table';
import { log } from '../log';
import { ALL_JOBS } from './event-bus';
import type { JobEvents } from './job-events';
import { EVENTS_CHANNEL, type Notification } from './notify';
import type { JobStatus } from '../../training/job';
import type { CommittedRow } from '../../training/metrics';

/** Rows read per job when catching up after the listener reconnects; the rest follow by the streams' own gap reads. */
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
	/** The last position published on this bus, per job. */
	#lastPosition = new Map<string, number>();
	#lastStatus = new Map<string, JobStatus>();
	#queue: Promise<void> = Promise.resolve();
	#unsubscribe: () => void;

	constructor(
		private readonly db: Db,
		private readonly client: postgres.Sql,
		private readonly events: JobEvents
	) {
		this.#unsubscribe = events.bus.subscribe(ALL_JOBS, (event) => {
			if (event.type === 'rows') {
				const last = event.rows.at(-1)?.position ?? 0;
				if (last > (this.#lastPosition.get(event.jobId) ?? 0)) this.#lastPosition.set(event.jobId, last);
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

	/** One at a time, in arrival order: a job's rows must reach the bus in position order. */
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

	/** Reads the notified rows that this bus has not had yet, and publishes them per job. */
	async #publishPoints(entries: [string, number][]): Promise<void> {
		const fresh = entries.filter(([jobId, position]) => position > (this.#lastPosition.get(jobId) ?? 0));
		if (fresh.length === 0) return;
		await this.#readAndPublish(fresh.map(([jobId, position]) => [jobId, this.#lastPosition.get(jobId), position]));
	}

	/**
	 * Rows of each job with after < position ≤ upTo (at most CATCH_UP_LIMIT per job), published
	 * in order. A job this bus has no position of yet (`after` undefined: this instance just
	 * started, or never had a point of it) gets its newest row only: streams read history
	 * themselves and fill any gap before a live row from the database, so nobody here needs
	 * the old rows. Reading them from position 0 (as before) replayed a long job's whole
	 * history 10,000 rows per notification, and the streams of a restarted instance got no
	 * live point until the replay reached the present (minutes in the chaos soak).
	 */
	async #readAndPublish(ranges: [string, number | undefined, number][]): Promise<number> {
		const { rows } = await sql<{
			job_id: string;
			primary_metric: string;
			position: number;
			step: number;
			epoch: number;
			recorded_at: Date | string;
			entries: [string, number | string][];
		}>`
			select n.job_id, j.primary_metric, r.position, r.step, r.epoch, r.recorded_at,
				(select json_agg(json_build_array(k.key, v.value::text)) from unnest(r.keys, r.vals) as v(key_no, value)
					join metric_keys k on k.job_id = n.job_id and k.key_no = v.key_no) as entries
			from unnest(
				${ranges.map(([jobId]) => jobId)}::uuid[],
				${ranges.map(([, after]) => after ?? null)}::integer[],
				${ranges.map(([, , upTo]) => upTo)}::integer[]
			) as n(job_id, after_position, up_to)
			join jobs j on j.id = n.job_id
			cross join lateral (
				select * from metric_rows where job_id = n.job_id
					and position > coalesce(n.after_position, least(n.up_to, j.metric_position) - 1) and position <= n.up_to
				order by position limit ${CATCH_UP_LIMIT}
			) r
			order by n.job_id, r.position`.execute(this.db);
		const byJob = new Map<string, { primary: string; rows: CommittedRow[] }>();
		for (const row of rows) {
			let group = byJob.get(row.job_id);
			if (!group) byJob.set(row.job_id, (group = { primary: row.primary_metric, rows: [] }));
			const values: Record<string, number> = {};
			for (const [key, value] of row.entries ?? []) values[key] = Number(value);
			group.rows.push({
				position: row.position,
				step: row.step,
				epoch: row.epoch,
				recordedAt: new Date(row.recorded_at).toISOString(),
				values
			});
		}
		for (const [jobId, group] of byJob) {
			const after = this.#lastPosition.get(jobId) ?? 0;
			const unseen = group.rows.filter((row) => row.position > after);
			this.events.rowsCommitted(jobId, group.primary, unseen);
		}
		return rows.length;
	}

	async #publishStatus(jobId: string): Promise<void> {
		const row = await findJob(this.db, jobId);
		if (row) this.events.bus.publish({ type: 'status', jobId, job: toJob(row) });
	}

	/** After a (re)connect: what the jobs seen so far did while nobody here listened. */
	async #catchUp(): Promise<void> {
		const jobIds = [...new Set([...this.#lastPosition.keys(), ...this.#lastStatus.keys()])];
		if (jobIds.length === 0) return;
		const read = await this.#readAndPublish(
			jobIds.map((id) => [id, this.#lastPosition.get(id), 2 ** 31 - 1] as [string, number | undefined, number])
		);
		for (const jobId of jobIds) {
			const row = await findJob(this.db, jobId);
			if (row && row.status !== this.#lastStatus.get(jobId))
				this.events.bus.publish({ type: 'status', jobId, job: toJob(row) });
		}
		log.info('event listener connected; caught up', { jobs: jobIds.length, rows: read });
	}
}
