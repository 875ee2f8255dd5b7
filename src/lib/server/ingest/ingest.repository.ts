import { sql } from 'kysely';
import type { Db } from '../db';
import { EVENTS_CHANNEL, NOTIFY_CHUNK } from '../events/notify';
import { arrayLiteral } from './array-literal';
import type { JobSource, JobStatus } from '../../training/job';

export interface LockedJob {
	id: string;
	name: string;
	status: JobStatus;
	source: JobSource;
	stepsPerEpoch: number;
}

/**
 * Locks a job's row for the rest of the transaction, so that two writers of the same
 * job take turns: the next statement of the transaction sees every point committed
 * before the lock was granted.
 */
export async function lockJob(db: Db, id: string): Promise<LockedJob | undefined> {
	const row = await db
		.selectFrom('jobs')
		.select(['id', 'name', 'status', 'source', 'steps_per_epoch'])
		.where('id', '=', id)
		.forUpdate()
		.executeTakeFirst();
	return (
		row && { id: row.id, name: row.name, status: row.status, source: row.source, stepsPerEpoch: row.steps_per_epoch }
	);
}

export interface StoredPoint {
	step: number;
	epoch: number;
	loss: number;
	accuracy: number | null;
	recordedAt: string | undefined;
}

export interface AppendResult {
	/** The job's last step before this statement. */
	lastStep: number;
	/** The first point at or below lastStep that is not stored with the same values, if any. */
	conflict: { step: number; stored: boolean } | undefined;
	/** Points written (those after lastStep), 0 when there was a conflict or inserting was off. */
	inserted: number;
	/** The commit time: recorded_at of the points that did not give one. */
	committedAt: string;
}

/**
 * Appends points in ONE statement, the idempotency check included:
 *  - points after the job's last stored step are inserted (one unnest insert),
 *  - points at or below it must already be stored with the same epoch, loss, accuracy
 *    (and recordedAt, when given): a retried batch is accepted again and writes nothing;
 *    any other is a conflict, and then nothing at all is inserted.
 * The inserted steps are announced by NOTIFY (delivered on commit) like simulator ticks.
 * Each column travels as one array literal (see array-literal.ts); floats print exactly,
 * NaN and ±Infinity (the failure signal) included.
 * Call inside a transaction that holds lockJob().
 */
export async function appendPoints(
	db: Db,
	instanceId: string,
	jobId: string,
	points: readonly StoredPoint[],
	{ insert }: { insert: boolean }
): Promise<AppendResult> {
	const { rows } = await sql<{
		last_step: number;
		conflict_step: number | null;
		conflict_stored: boolean | null;
		inserted: string | number;
		committed_at: Date | string;
	}>`
		with last as (
			select coalesce(max(step), 0) as step from metrics where job_id = ${jobId}::uuid
		),
		u as (
			select * from unnest(
				${arrayLiteral(points.map((p) => p.step))}::integer[],
				${arrayLiteral(points.map((p) => p.epoch))}::integer[],
				${arrayLiteral(points.map((p) => p.loss))}::double precision[],
				${arrayLiteral(points.map((p) => p.accuracy))}::double precision[],
				${arrayLiteral(points.map((p) => p.recordedAt))}::timestamptz[]
			) as u(step, epoch, loss, accuracy, recorded_at)
		),
		conflict as (
			select u.step, m.step is not null as stored
			from u cross join last
			left join metrics m on m.job_id = ${jobId}::uuid and m.step = u.step
			where u.step <= last.step
				and (
					m.step is null
					or m.epoch <> u.epoch
					or m.loss <> u.loss
					or m.accuracy is distinct from u.accuracy
					or (u.recorded_at is not null and m.recorded_at <> u.recorded_at)
				)
			order by u.step
			limit 1
		),
		inserted as (
			insert into metrics (job_id, step, epoch, loss, accuracy, recorded_at)
			select ${jobId}::uuid, u.step, u.epoch, u.loss, u.accuracy, coalesce(u.recorded_at, now())
			from u cross join last
			where ${insert}::boolean and u.step > last.step and not exists (select 1 from conflict)
			returning step
		),
		point_chunks as (
			select json_build_object('i', ${instanceId}::text, 'p', json_agg(json_build_array(${jobId}::text, step)))::text as payload
			from (select step, (row_number() over () - 1) / ${NOTIFY_CHUNK} as chunk from inserted) numbered
			group by chunk
		)
		select
			(select step from last) as last_step,
			(select step from conflict) as conflict_step,
			(select stored from conflict) as conflict_stored,
			(select count(*) from inserted) as inserted,
			now() as committed_at,
			(select count(pg_notify(${EVENTS_CHANNEL}, payload)) from point_chunks) as notified
	`.execute(db);
	const row = rows[0]!;
	return {
		lastStep: Number(row.last_step),
		conflict:
			row.conflict_step === null
				? undefined
				: { step: Number(row.conflict_step), stored: row.conflict_stored === true },
		inserted: Number(row.inserted),
		committedAt: new Date(row.committed_at).toISOString()
	};
}

/** Moves a job to a new status inside the ingest transaction (the row is locked already). */
export async function setJobStatus(
	db: Db,
	id: string,
	to: Extract<JobStatus, 'running' | 'completed' | 'failed'>,
	error: string | null = null
): Promise<void> {
	await db
		.updateTable('jobs')
		.set({
			status: to,
			...(to === 'running' ? { started_at: sql<Date>`coalesce(started_at, now())` } : {}),
			...(to !== 'running'
				? { finished_at: sql<Date>`now()`, error, started_at: sql<Date>`coalesce(started_at, now())` }
				: {})
		})
		.where('id', '=', id)
		.execute();
}
