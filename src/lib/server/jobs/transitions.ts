import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db';
import { conflict } from '../errors';
import type { JobEvents } from '../events/job-events';
import { findJob, insertJob } from './jobs.repository';
import { toJob } from './jobs.table';
import { newSeed } from '../../training/curve';
import { isTerminal, type Job, type JobStatus } from '../../training/job';
import { getJob } from './jobs.service';

/** What each operation needs the job to be in, in words for the 409. */
const NEEDS: Record<'start' | 'stop' | 'clone', string> = {
	start: 'Only a queued job can be started.',
	stop: 'Only a running job can be stopped.',
	clone: 'Only a finished job (completed, failed or stopped) can be run again.'
};

async function refuse(db: Db, id: string, operation: keyof typeof NEEDS): Promise<never> {
	// getJob answers 404 for a job that does not exist.
	const job = await getJob(db, id);
	throw conflict(`"${job.name}" is ${job.status}. ${NEEDS[operation]}`);
}

/**
 * Moves a job from one status to another in one conditional UPDATE, so that of two
 * racing requests exactly one matches the row; the other gets a 409.
 */
async function transition(
	db: Db,
	events: JobEvents,
	id: string,
	from: JobStatus,
	to: JobStatus,
	operation: 'start' | 'stop'
): Promise<Job> {
	const { rows } = await sql<{ id: string }>`
		update jobs set ${statusAssignmentsSql(sql`${to}::text`, sql`error`)}
		where id = ${id} and status = ${from}
		returning id`.execute(db);
	const updated = rows[0];
	if (!updated) return refuse(db, id, operation);
	const job = toJob((await findJob(db, id))!);
	await events.statusChanged(db, job);
	return job;
}

export function startJob(db: Db, events: JobEvents, id: string): Promise<Job> {
	return transition(db, events, id, 'queued', 'running', 'start');
}

export function stopJob(db: Db, events: JobEvents, id: string): Promise<Job> {
	return transition(db, events, id, 'running', 'stopped', 'stop');
}

/** A new queued job with the configuration of a finished one (and a fresh seed, as a real re-run has). */
export async function cloneJob(db: Db, events: JobEvents, id: string): Promise<Job> {
	const source = await findJob(db, id);
	if (!source || !isTerminal(source.status)) return refuse(db, id, 'clone');
	const job = toJob(
		await insertJob(db, {
			name: source.name,
			source: source.source,
			base_model: source.base_model,
			dataset: source.dataset,
			epochs: source.epochs,
			steps_per_epoch: source.steps_per_epoch,
			learning_rate: source.learning_rate,
			batch_size: source.batch_size,
			primary_metric: source.primary_metric,
			seed: newSeed()
		})
	);
	await events.statusChanged(db, job);
	return job;
}

/** A status change that a metrics commit applies in the same statement (see metrics.writer). */
export interface StatusChange {
	jobId: string;
	status: Extract<JobStatus, 'running' | 'completed' | 'failed'>;
	error: string | null;
	/**
	 * 'always'; 'fresh': only when the commit stores a new value of the job (a retried
	 * request changes nothing); 'signal': only when a failure-signal value is stored now.
	 * Of a job's changes whose condition holds, the first listed wins.
	 */
	when: 'always' | 'fresh' | 'signal';
}

/**
 * What every status change sets, as SQL over `status` and `error` expressions: a run
 * starts once (started_at kept), and a terminal status stamps finished_at.
 */
export function statusAssignmentsSql(
	status: RawBuilder<unknown>,
	error: RawBuilder<unknown>,
	when: RawBuilder<unknown> = sql`true`
): RawBuilder<unknown> {
	return sql`status = case when ${when} then ${status} else jobs.status end,
		error = case when ${when} then ${error} else jobs.error end,
		started_at = case when ${when} and ${status} <> 'queued' then coalesce(jobs.started_at, now()) else jobs.started_at end,
		finished_at = case when ${when} then (case when ${status} in ('completed', 'failed', 'stopped') then now() end)
			else jobs.finished_at end`;
}

/** A simulated run's status after it wrote `step`: completed at its last step, failed when its primary metric is NaN. */
export function simulatedOutcome(
	step: number,
	totalSteps: number,
	primaryValue: number,
	failure: () => string
): StatusChange['status'] | { failed: string } | undefined {
	if (Number.isNaN(primaryValue)) return { failed: failure() };
	if (step >= totalSteps) return 'completed';
	return undefined;
}

/**
 * The changes an ingest commit may make to an external job: a failure signal (a
 * flagged non-finite value of the primary metric) fails it; otherwise its first new
 * values move a queued job to running.
 */
export function ingestStatusChanges(
	job: { id: string; status: JobStatus },
	signal: { step: number; key: string; value: number } | undefined
): StatusChange[] {
	const changes: StatusChange[] = [];
	if (signal) {
		const value = Number.isNaN(signal.value) ? 'NaN' : signal.value > 0 ? 'Infinity' : '-Infinity';
		changes.push({
			jobId: job.id,
			status: 'failed',
			error: `The training script reported ${signal.key} = ${value} at step ${signal.step}: the run diverged.`,
			when: 'signal'
		});
	}
	if (job.status === 'queued') changes.push({ jobId: job.id, status: 'running', error: null, when: 'fresh' });
	return changes;
}

/**
 * Ends an external job as its script says (POST …/finish), inside a transaction that
 * holds the job's row lock. Returns false when the job already has that status (a retry).
 */
export async function finishExternal(
	db: Db,
	job: { id: string; name: string; status: JobStatus },
	status: 'completed' | 'failed',
	error: string | null
): Promise<boolean> {
	if (job.status === status) return false;
	if (isTerminal(job.status)) throw conflict(`"${job.name}" is already ${job.status}; it cannot become ${status}.`);
	await sql`update jobs set ${statusAssignmentsSql(sql`${status}::text`, sql`${error}::text`)} where id = ${job.id}`.execute(
		db
	);
	return true;
}
