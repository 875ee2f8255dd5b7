import { sql } from 'kysely';
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
	const updated = await db
		.updateTable('jobs')
		.set({
			status: to,
			...(to === 'running' ? { started_at: sql<Date>`now()` } : {}),
			...(isTerminal(to) ? { finished_at: sql<Date>`now()` } : {})
		})
		.where('id', '=', id)
		.where('status', '=', from)
		.where('deleting_at', 'is', null)
		.returning('id')
		.executeTakeFirst();
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
			seed: newSeed()
		})
	);
	await events.statusChanged(db, job);
	return job;
}

/** The error of an external job whose script went silent; a late point or heartbeat revives it. */
export const LOST_CONTACT_ERROR = 'lost contact with the training script';

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
	const rows = await db
		.updateTable('jobs')
		.set({ status: 'failed', error: LOST_CONTACT_ERROR, finished_at: sql<Date>`now()` })
		.where('source', '=', 'external')
		.where('status', '=', 'running')
		.where('deleting_at', 'is', null)
		.where(
			sql<boolean>`coalesce(last_contact_at, started_at, created_at) < now() - make_interval(secs => ${lostAfterS})`
		)
		.returning('id')
		.execute();
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
	const revived = await db
		.updateTable('jobs')
		.set({ status: 'running', error: null, finished_at: null, last_contact_at: sql<Date>`now()` })
		.where('id', '=', id)
		.where('source', '=', 'external')
		.where('status', '=', 'failed')
		.where('error', '=', LOST_CONTACT_ERROR)
		.returning('id')
		.execute();
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
