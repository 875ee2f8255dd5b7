import type { Db } from '../db';
import type { JobEvents } from '../events/job-events';
import { badRequest, notFound } from '../errors';
import { findJob, insertJob, listJobs } from './jobs.repository';
import { toJob } from './jobs.table';
import { newSeed } from '../../training/curve';
import type { Job } from '../../training/job';
import { DEFAULT_PRIMARY_METRIC, SIMULATED_PRIMARY_METRIC } from '../../training/metrics';
import { validateNewJob, type NewJob } from '../../training/job-input';

export async function getJob(db: Db, id: string): Promise<Job> {
	const row = await findJob(db, id);
	if (!row) throw notFound(`No job has the id ${id}. It may never have existed, or the database was reset.`);
	return toJob(row);
}

export async function getJobs(db: Db): Promise<Job[]> {
	return (await listJobs(db)).map(toJob);
}

/** Creates a validated job and announces it (the jobs feed shows it at once). */
export async function createValidJob(db: Db, events: JobEvents, job: NewJob): Promise<Job> {
	const row = await insertJob(db, {
		name: job.name,
		source: job.source,
		base_model: job.baseModel,
		dataset: job.dataset,
		epochs: job.epochs,
		steps_per_epoch: job.stepsPerEpoch,
		learning_rate: job.learningRate,
		batch_size: job.batchSize,
		primary_metric:
			job.source === 'simulated' ? SIMULATED_PRIMARY_METRIC : (job.primaryMetric ?? DEFAULT_PRIMARY_METRIC),
		seed: newSeed()
	});
	const created = toJob(row);
	await events.statusChanged(db, created);
	return created;
}

/** Validates and creates a job; bad input is a 400 naming each bad field. */
export async function createJob(db: Db, events: JobEvents, input: unknown): Promise<Job> {
	const result = validateNewJob(input);
	if (!result.ok) throw badRequest(result.error, result.fields);
	return createValidJob(db, events, result.value);
}
