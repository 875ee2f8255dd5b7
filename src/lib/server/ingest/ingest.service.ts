import type { Db } from '../db';
import { badRequest, conflict, notFound, payloadTooLarge } from '../errors';
import type { JobEvents } from '../events/job-events';
import { findJob } from '../jobs/jobs.repository';
import { recordContact } from '../jobs/transitions';
import { toJob } from '../jobs/jobs.table';
import { epochOfStep, validateFinish, validatePoints, type IngestPoint } from '../../training/ingest-input';
import { isTerminal, type Job, type MetricPoint } from '../../training/job';
import { appendPoints, lockJob, setJobStatus, type LockedJob, type StoredPoint } from './ingest.repository';

export interface IngestResult {
	/** Points written by this request. */
	accepted: number;
	/** Points that were already stored with the same values (a retried request). */
	duplicates: number;
	/** The job's last stored step after this request. */
	lastStep: number;
	status: Job['status'];
}

const missing = (id: string) =>
	notFound(`No job has the id ${id}. It may never have existed, or the database was reset.`);

function refuseSimulated(job: LockedJob): never {
	throw conflict(
		`"${job.name}" is a simulated job: the simulator writes its points. Create a job with "source": "external" to report points from your own training script.`
	);
}

function nonFiniteMessage(point: IngestPoint): string {
	const value = Number.isNaN(point.loss) ? 'NaN' : point.loss > 0 ? 'Infinity' : '-Infinity';
	return `The training script reported a loss of ${value} at step ${point.step}: the run diverged.`;
}

/**
 * Stores a training script's points: all of a request in one transaction, or none.
 * The first points move a queued external job to running; a failure-signal point
 * (non-finite loss) fails it. A retried request (every point already stored with the
 * same values) is accepted again and writes nothing. Committed points are published
 * exactly like the simulator's: to this process's event bus, and NOTIFY for others.
 */
export async function ingestPoints(db: Db, events: JobEvents, jobId: string, body: unknown): Promise<IngestResult> {
	const validation = validatePoints(body);
	if (!validation.ok) {
		if ('tooLarge' in validation) throw payloadTooLarge(validation.error);
		throw badRequest(validation.error, validation.fields);
	}
	const points = validation.value;
	// Points are contact: a job given up as lost is running again before they are stored.
	await recordContact(db, events, jobId);

	const outcome = await db.transaction().execute(async (trx) => {
		const job = await lockJob(trx, jobId);
		if (!job) throw missing(jobId);
		if (job.source !== 'external') refuseSimulated(job);
		const finished = isTerminal(job.status);

		const stored: StoredPoint[] = points.map((point) => ({
			step: point.step,
			epoch: point.epoch ?? epochOfStep(point.step, job.stepsPerEpoch),
			loss: point.loss,
			accuracy: point.accuracy,
			recordedAt: point.recordedAt
		}));
		const result = await appendPoints(trx, events.instanceId, jobId, stored, { insert: !finished });
		const fresh = stored.filter((point) => point.step > result.lastStep);

		if (result.conflict) {
			const { step, stored: exists } = result.conflict;
			throw conflict(
				exists
					? `Step ${step} is already stored with other values (epoch, loss, accuracy or recordedAt). A retry must send the same values; nothing of this request was written.`
					: `Step ${step} is not after the job's last stored step (${result.lastStep}): steps must increase. Nothing of this request was written.`
			);
		}
		if (finished) {
			if (fresh.length > 0) {
				throw conflict(`"${job.name}" is ${job.status}: it takes no more points. Create a new job for a new run.`);
			}
			return { job, result, fresh: [], status: job.status, changed: false };
		}

		let status = job.status;
		const signal = points.find((point) => point.nonFinite && point.step > result.lastStep);
		if (signal) status = 'failed';
		else if (status === 'queued' && fresh.length > 0) status = 'running';
		if (status === 'failed') await setJobStatus(trx, jobId, 'failed', nonFiniteMessage(signal!));
		else if (status !== job.status) await setJobStatus(trx, jobId, status as 'running');
		return { job, result, fresh, status, changed: status !== job.status };
	});

	const { result, fresh, status, changed } = outcome;
	if (fresh.length > 0) {
		const published: MetricPoint[] = fresh.map((point) => ({
			step: point.step,
			epoch: point.epoch,
			loss: point.loss,
			accuracy: point.accuracy,
			recordedAt: point.recordedAt ? new Date(point.recordedAt).toISOString() : result.committedAt
		}));
		events.pointsCommitted(jobId, published);
	}
	if (changed) await announce(db, events, jobId);
	return {
		accepted: fresh.length,
		duplicates: points.length - fresh.length,
		lastStep: Math.max(result.lastStep, fresh.at(-1)?.step ?? 0),
		status
	};
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
				`"${job.name}" is a simulated job: the simulator finishes it. Only an external job is finished by its script (a simulated one can be stopped).`
			);
		}
		if (job.status === status) return false;
		if (isTerminal(job.status)) throw conflict(`"${job.name}" is already ${job.status}; it cannot become ${status}.`);
		await setJobStatus(
			trx,
			jobId,
			status,
			status === 'failed' ? (error ?? 'The training script reported that the run failed.') : null
		);
		return true;
	});
	if (changed) return announce(db, events, jobId);
	const row = await findJob(db, jobId);
	if (!row) throw missing(jobId);
	return toJob(row);
}
