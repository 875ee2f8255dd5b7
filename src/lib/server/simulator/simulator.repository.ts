import { sql } from 'kysely';
import type { Db } from '../db';
import { EVENTS_CHANNEL, NOTIFY_CHUNK } from '../events/notify';
import type { JobStatus, MetricPoint } from '../../training/job';

export interface RunningJob {
	id: string;
	seed: number;
	learningRate: number;
	batchSize: number;
	stepsPerEpoch: number;
	totalSteps: number;
	/** The last committed step; the next point is lastStep + 1. */
	lastStep: number;
}

/** The running jobs whose lease `owner` holds (see leases.repository), with their last steps. */
export async function listRunningJobs(db: Db, owner: string): Promise<RunningJob[]> {
	const rows = await db
		.selectFrom('jobs')
		.leftJoinLateral(
			(eb) =>
				eb
					.selectFrom('metrics')
					.select('metrics.step')
					.whereRef('metrics.job_id', '=', 'jobs.id')
					.orderBy('metrics.step', 'desc')
					.limit(1)
					.as('latest'),
			(join) => join.onTrue()
		)
		.select(['jobs.id', 'seed', 'learning_rate', 'batch_size', 'steps_per_epoch', 'epochs', 'latest.step'])
		.where('jobs.status', '=', 'running')
		.where('jobs.source', '=', 'simulated')
		.where('jobs.lease_owner', '=', owner)
		.execute();
	return rows.map((row) => ({
		id: row.id,
		seed: row.seed,
		learningRate: row.learning_rate,
		batchSize: row.batch_size,
		stepsPerEpoch: row.steps_per_epoch,
		totalSteps: row.epochs * row.steps_per_epoch,
		lastStep: row.step ?? 0
	}));
}

export interface TickPoint {
	jobId: string;
	step: number;
	epoch: number;
	loss: number;
	accuracy: number | null;
}

export interface TickFinish {
	jobId: string;
	status: Extract<JobStatus, 'completed' | 'failed'>;
	error: string | null;
}

export interface TickResult {
	points: (MetricPoint & { jobId: string })[];
	finished: { jobId: string; status: JobStatus }[];
}

/**
 * Commits one tick in ONE statement: the points of every job (one unnest insert), the
 * jobs that completed or failed, and the NOTIFY messages that tell other processes.
 * Rows of jobs that stopped meanwhile, or whose lease another instance has taken, are
 * locked out (FOR UPDATE, then status and lease owner re-checked), so a point never
 * lands after a stop, a stop never lands after completion, and two instances never
 * both advance a job. The primary key (job_id, step) makes a duplicate point impossible.
 */
export async function commitTick(
	db: Db,
	instanceId: string,
	points: readonly TickPoint[],
	finishes: readonly TickFinish[]
): Promise<TickResult> {
	const jobIds = [...new Set([...points.map((p) => p.jobId), ...finishes.map((f) => f.jobId)])];
	// Returns only what JavaScript does not know already: the commit time (every point's
	// recorded_at) and the jobs that were no longer running. Echoing the rows back as JSON
	// cost a third of the statement's time.
	const { rows } = await sql<{
		committed_at: Date | string;
		skipped: string[] | null;
		finished: { job_id: string; status: JobStatus }[] | null;
	}>`
		with running as (
			select id from jobs
			where id = any(${jobIds}::uuid[]) and status = 'running' and source = 'simulated' and lease_owner = ${instanceId}
			for update
		),
		inserted as (
			insert into metrics (job_id, step, epoch, loss, accuracy)
			select u.job_id, u.step, u.epoch, u.loss, u.accuracy
			from unnest(
				${points.map((p) => p.jobId)}::uuid[],
				${points.map((p) => p.step)}::integer[],
				${points.map((p) => p.epoch)}::integer[],
				${points.map((p) => p.loss)}::double precision[],
				${points.map((p) => p.accuracy)}::double precision[]
			) as u(job_id, step, epoch, loss, accuracy)
			where u.job_id in (select id from running)
			returning job_id, step
		),
		finished as (
			update jobs set status = f.status, error = f.error, finished_at = now()
			from unnest(
				${finishes.map((f) => f.jobId)}::uuid[],
				${finishes.map((f) => f.status)}::text[],
				${finishes.map((f) => f.error)}::text[]
			) as f(id, status, error)
			where jobs.id = f.id and jobs.id in (select id from running)
			returning jobs.id as job_id, jobs.status
		),
		point_chunks as (
			select json_build_object('i', ${instanceId}::text, 'p', json_agg(json_build_array(job_id, step)))::text as payload
			from (select job_id, step, (row_number() over () - 1) / ${NOTIFY_CHUNK} as chunk from inserted) numbered
			group by chunk
		),
		status_chunks as (
			select json_build_object('i', ${instanceId}::text, 's', json_agg(json_build_array(job_id, status)))::text as payload
			from (select job_id, status, (row_number() over () - 1) / ${NOTIFY_CHUNK} as chunk from finished) numbered
			group by chunk
		)
		select
			now() as committed_at,
			array(select id from unnest(${jobIds}::uuid[]) as id except select id from running)::text[] as skipped,
			(select json_agg(finished) from finished) as finished,
			(select count(pg_notify(${EVENTS_CHANNEL}, payload))
				from (select payload from point_chunks union all select payload from status_chunks) chunks) as notified
	`.execute(db);
	const row = rows[0]!;
	const recordedAt = new Date(row.committed_at).toISOString();
	const skipped = new Set(row.skipped ?? []);
	return {
		points: points
			.filter((p) => !skipped.has(p.jobId))
			.map(({ jobId, step, epoch, loss, accuracy }) => ({ jobId, step, epoch, loss, accuracy, recordedAt })),
		finished: (row.finished ?? []).map((f) => ({ jobId: f.job_id, status: f.status }))
	};
}
