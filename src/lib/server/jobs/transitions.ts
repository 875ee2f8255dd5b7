import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db';
import { conflict } from '../errors';
import type { JobEvents } from '../events/job-events';
import { findJob, insertJob, namesLike } from './jobs.repository';
import { arrayLiteral } from '../ingest/array-literal';
import { baseName, nextCopyName } from '../../training/copy-name';
import { jsonb, toJob } from './jobs.table';
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
		where id = ${id} and status = ${from} and deleting_at is null
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

/**
 * "Run again": a new job with the config and tags of a finished one, named `NAME (2)`,
 * `NAME (3)`, … and a fresh seed, as a real re-run has. A simulated copy starts at once
 * (one click, as the button says); an external one waits for its script.
 */
export async function cloneJob(db: Db, events: JobEvents, id: string): Promise<Job> {
	const source = await findJob(db, id);
	if (!source || !isTerminal(source.status)) return refuse(db, id, 'clone');
	const startNow = source.source === 'simulated';
	const job = toJob(
		await insertJob(db, {
			name: nextCopyName(source.name, await namesLike(db, baseName(source.name))),
			config: jsonb(source.config ?? {}),
			tags: arrayLiteral(source.tags),
			...(startNow ? { status: 'running' as const, started_at: new Date() } : {}),
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
 * Ends an external job as its script says (POST …/finish; an MLflow run's end, where
 * KILLED is stopped), inside a transaction that holds the job's row lock. Returns false
 * when the job already has that status (a retry). A job failed only for lost contact
 * takes the script's word.
 */
export async function finishExternal(
	db: Db,
	job: { id: string; name: string; status: JobStatus; error: string | null },
	status: 'completed' | 'failed' | 'stopped',
	error: string | null
): Promise<boolean> {
	if (job.status === status && !wasLostContact(job)) return false;
	if (isTerminal(job.status) && !wasLostContact(job)) {
		throw conflict(`"${job.name}" is already ${job.status}; it cannot become ${status}.`);
	}
	await sql`update jobs set ${statusAssignmentsSql(sql`${status}::text`, sql`${error}::text`)} where id = ${job.id}`.execute(
		db
	);
	return true;
}

/**
 * An external job's script takes it up again (an MLflow run resumed by its id): a queued
 * or finished job is running again, its error and end cleared, inside a transaction that
 * holds the row lock. Returns false when it was running already.
 */
export async function resumeExternal(db: Db, job: { id: string; status: JobStatus }): Promise<boolean> {
	if (job.status === 'running') return false;
	await sql`update jobs set ${statusAssignmentsSql(sql`'running'::text`, sql`null::text`)}, last_contact_at = now()
		where id = ${job.id}`.execute(db);
	return true;
}

/** The error of an external job whose script went silent; a late point or heartbeat revives it. */
export const LOST_CONTACT_ERROR = 'lost contact with the training script';

/**
 * Failed only because its script was silent for a while (a long evaluation, a network
 * outage): a script that then finishes it was alive after all, and its word is the end.
 */
export const wasLostContact = (job: { status: JobStatus; error: string | null }) =>
	job.status === 'failed' && job.error === LOST_CONTACT_ERROR;

async function announceAll(db: Db, events: JobEvents, ids: readonly string[]): Promise<Job[]> {
	const jobs: Job[] = [];
	for (const id of ids) {
		const row = await findJob(db, id);
		if (!row) continue;
		const job = toJob(row);
		await events.statusChanged(db, job);
		jobs.push(job);
	}
	return jobs;
}

/**
 * Fails every running external job not heard from (no points, no heartbeat) for
 * `lostAfterS` seconds. One conditional UPDATE: of several instances sweeping at once,
 * each job is failed (and announced) by exactly one.
 */
export async function failLostJobs(db: Db, events: JobEvents, lostAfterS: number): Promise<Job[]> {
	const { rows } = await sql<{ id: string }>`
		update jobs set ${statusAssignmentsSql(sql`'failed'::text`, sql`${LOST_CONTACT_ERROR}::text`)}
		where source = 'external' and status = 'running' and deleting_at is null
			and coalesce(last_contact_at, started_at, created_at) < now() - make_interval(secs => ${lostAfterS})
		returning id`.execute(db);
	return announceAll(
		db,
		events,
		rows.map((row) => row.id)
	);
}

/** Contact is written at most this often per job: a busy script's requests need not all touch the row. */
const CONTACT_RESOLUTION = "interval '1 second'";

/**
 * Records that an external job's script was heard from. A job failed for lost contact
 * is running again (its error cleared), and that is announced like any status change.
 * Returns whether it was revived.
 */
export async function recordContact(db: Db, events: JobEvents, id: string): Promise<boolean> {
	const { rows: revived } = await sql<{ id: string }>`
		update jobs set ${statusAssignmentsSql(sql`'running'::text`, sql`null::text`)}, last_contact_at = now()
		where id = ${id} and source = 'external' and status = 'failed' and error = ${LOST_CONTACT_ERROR}
		returning id`.execute(db);
	if (revived.length > 0) {
		await announceAll(db, events, [id]);
		return true;
	}
	await db
		.updateTable('jobs')
		.set({ last_contact_at: sql<Date>`now()` })
		.where('id', '=', id)
		.where('source', '=', 'external')
		.where((eb) =>
			eb.or([
				eb('last_contact_at', 'is', null),
				eb('last_contact_at', '<', sql<Date>`now() - ${sql.raw(CONTACT_RESOLUTION)}`)
			])
		)
		.execute();
	return false;
}
