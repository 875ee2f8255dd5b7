import { sql } from 'kysely';
import type { Db } from '../db';
import { badRequest, conflict, notFound, payloadTooLarge } from '../errors';
import type { JobEvents } from '../events/job-events';
import { findJob } from '../jobs/jobs.repository';
import { toJob } from '../jobs/jobs.table';
import { setPrimaryMetricLocked } from '../jobs/job-edits';
import { finishExternal, ingestStatusChanges, recordContact } from '../jobs/transitions';
import type { BlockRollups } from '../metrics/block-rollups';
import { hasValues } from '../metrics/metrics.repository';
import { commitMetrics, publishCommitted, type BatchRow, type CommitOutcome } from '../metrics/metrics.writer';
import { epochOfStep, validateFinish, validateMetricsBody, type IngestRow } from '../../training/ingest-input';
import { isTerminal, type Job, type JobSource, type JobStatus } from '../../training/job';
import { DEFAULT_PRIMARY_METRIC, MAX_KEYS_PER_JOB } from '../../training/metrics';

export interface IngestResult {
	/** Values written by this request. */
	accepted: number;
	/** Values that were already stored with the same value (a retried request). */
	duplicates: number;
	/** The job's last stored step (of any key) after this request. */
	lastStep: number;
	status: Job['status'];
}

export interface LockedJob {
	id: string;
	name: string;
	status: JobStatus;
	source: JobSource;
	stepsPerEpoch: number;
	primaryMetric: string;
	error: string | null;
}

const missing = (id: string) =>
	notFound(`No job has the id ${id}. It may never have existed, or the database was reset.`);

/**
 * Locks a job's row for the rest of the transaction, so that two writers of the same
 * job take turns: the next statement sees every value committed before the lock was granted.
 */
export async function lockJob(db: Db, id: string): Promise<LockedJob | undefined> {
	const row = await db
		.selectFrom('jobs')
		.select(['id', 'name', 'status', 'source', 'steps_per_epoch', 'primary_metric', 'error'])
		.where('id', '=', id)
		.forUpdate()
		.executeTakeFirst();
	return (
		row && {
			id: row.id,
			name: row.name,
			status: row.status,
			source: row.source,
			stepsPerEpoch: row.steps_per_epoch,
			primaryMetric: row.primary_metric,
			error: row.error
		}
	);
}

function refuseSimulated(job: LockedJob): never {
	throw conflict(
		`"${job.name}" is a simulated job: the simulator writes its points. ` +
			'Create a job with "source": "external" to report points from your own training script.'
	);
}

/**
 * Stores a training script's values: all of a request in one transaction (one write
 * statement, metrics.writer), or none. The first values move a queued external job to
 * running; a flagged non-finite value of the primary metric fails it. A retried request
 * (every value already stored with the same value) is accepted again and writes nothing.
 */
export async function ingestPoints(
	db: Db,
	events: JobEvents,
	rollups: BlockRollups | undefined,
	jobId: string,
	body: unknown
): Promise<IngestResult> {
	const validation = validateMetricsBody(body);
	if (!validation.ok) {
		if (validation.tooLarge) throw payloadTooLarge(validation.error);
		throw badRequest(validation.error, validation.fields);
	}
	// Values are contact: a job given up as lost is running again before they are stored.
	await recordContact(db, events, jobId);

	const { job, outcome, lastStep, adopted } = await db.transaction().execute(async (trx) => {
		const locked = await lockJob(trx, jobId);
		if (!locked) throw missing(jobId);
		const adopted = await primaryOfFirstValues(trx, locked, validation.value);
		if (adopted) await setPrimaryMetricLocked(trx, jobId, adopted);
		const job = adopted ? { ...locked, primaryMetric: adopted } : locked;
		return { job, adopted, ...(await storeValuesLocked(trx, events, job, validation.value)) };
	});

	const result = await afterStore(db, events, rollups, job, outcome, lastStep);
	// Open monitors and lists learn the new headline (a status change has said it already).
	if (adopted && !outcome.finished.some((f) => f.jobId === jobId)) await announce(db, events, jobId);
	return result;
}

/**
 * A job made without a primary metric has `loss`. When its first values have no `loss` but
 * a key ending in "loss" (a script logging train/loss), that key becomes its primary metric,
 * as an MLflow run's first metrics choose theirs: the headline would stay empty otherwise.
 * Undefined: the job keeps its primary metric.
 */
async function primaryOfFirstValues(trx: Db, job: LockedJob, rows: readonly IngestRow[]): Promise<string | undefined> {
	if (job.primaryMetric !== DEFAULT_PRIMARY_METRIC) return undefined;
	const keys = new Set<string>();
	for (const row of rows) for (const key in row.values) keys.add(key);
	if (keys.has(DEFAULT_PRIMARY_METRIC)) return undefined;
	const chosen = [...keys].find((key) => /loss$/i.test(key));
	if (chosen === undefined) return undefined;
	return (await hasValues(trx, job.id)) ? undefined : chosen;
}

/** After the commit of storeValuesLocked: publish the rows, announce a status change, count. */
export async function afterStore(
	db: Db,
	events: JobEvents,
	rollups: BlockRollups | undefined,
	job: LockedJob,
	outcome: CommitOutcome,
	lastStep: number
): Promise<IngestResult> {
	const jobId = job.id;
	publishCommitted(events, rollups, outcome, () => job.primaryMetric);
	const changed = outcome.finished.find((f) => f.jobId === jobId);
	if (changed) await announce(db, events, jobId);
	let accepted = 0;
	for (const row of outcome.rows.get(jobId) ?? []) accepted += Object.keys(row.values).length;
	return { accepted, duplicates: outcome.duplicates, lastStep, status: changed?.status ?? job.status };
}

/**
 * Stores validated values of a job whose row the caller's transaction has locked
 * (lockJob): the one statement of metrics.writer, with the status changes the values
 * make. A conflict throws, which rolls the caller's transaction back: nothing is written.
 */
export async function storeValuesLocked(
	trx: Db,
	events: JobEvents,
	job: LockedJob,
	values: readonly IngestRow[],
	/** A step as a refusal names it (the MLflow drop-in counts its steps from 0). */
	stepOf: (step: number) => number = (step) => step
): Promise<{ outcome: CommitOutcome; lastStep: number }> {
	const jobId = job.id;
	if (job.source !== 'external') refuseSimulated(job);
	const finished = isTerminal(job.status);
	const rows: BatchRow[] = values.map((row) => ({
		jobId,
		step: row.step,
		epoch: row.epoch ?? epochOfStep(row.step, job.stepsPerEpoch),
		recordedAt: row.recordedAt,
		values: row.values,
		signals: row.signals
	}));
	const signalRow = values.find((row) => row.signals.includes(job.primaryMetric));
	const signal = signalRow && {
		step: signalRow.step,
		key: job.primaryMetric,
		value: signalRow.values[job.primaryMetric]!
	};
	const changes = finished ? [] : ingestStatusChanges(job, signal);
	const outcome = await commitMetrics(trx, events.instanceId, { kind: 'locked' }, rows, changes);
	if (outcome.conflict) {
		const { key, step, stored, lastStep } = outcome.conflict;
		throw conflict(
			stored
				? `"${key}" at step ${stepOf(step)} is already stored with another value. ` +
						'A retry must send the same values; nothing of this request was written.'
				: `"${key}" at step ${stepOf(step)} is not after its last stored step (${stepOf(lastStep)}): ` +
						'within a key, steps must increase. Nothing of this request was written.'
		);
	}
	if (outcome.tooManyKeys) {
		throw conflict(
			`A job takes at most ${MAX_KEYS_PER_JOB.toLocaleString('en-US')} metric keys; ` +
				`this request would make ${outcome.tooManyKeys.keys.toLocaleString('en-US')}. Nothing of this request was written.`
		);
	}
	if (finished && outcome.rows.size > 0) {
		// Throwing rolls the transaction back: nothing is written.
		throw conflict(`"${job.name}" is ${job.status}: it takes no more points. Create a new job for a new run.`);
	}
	const { rows: last } = await sql<{ step: number }>`select metric_step as step from jobs where id = ${jobId}`.execute(
		trx
	);
	return { outcome, lastStep: last[0]?.step ?? 0 };
}

async function announce(db: Db, events: JobEvents, jobId: string): Promise<Job> {
	const row = await findJob(db, jobId);
	if (!row) throw missing(jobId);
	const job = toJob(row);
	await events.statusChanged(db, job);
	return job;
}

/**
 * Ends an external job as its script says: completed, or failed with a reason. Finishing
 * again with the same status is accepted (a retried request); another status is a 409.
 */
export async function finishJob(db: Db, events: JobEvents, jobId: string, body: unknown): Promise<Job> {
	const validation = validateFinish(body);
	if (!validation.ok) throw badRequest(validation.error, validation.fields);
	const { status, error } = validation.value;

	const changed = await db.transaction().execute(async (trx) => {
		const job = await lockJob(trx, jobId);
		if (!job) throw missing(jobId);
		if (job.source !== 'external') {
			throw conflict(
				`"${job.name}" is a simulated job: the simulator finishes it. ` +
					'Only an external job is finished by its script (a simulated one can be stopped).'
			);
		}
		return finishExternal(
			trx,
			job,
			status,
			status === 'failed' ? (error ?? 'The training script reported that the run failed.') : null
		);
	});
	if (changed) return announce(db, events, jobId);
	const row = await findJob(db, jobId);
	if (!row) throw missing(jobId);
	return toJob(row);
}
