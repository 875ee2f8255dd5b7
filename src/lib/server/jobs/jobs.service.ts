import type { Db } from '../db';
import type { JobEvents } from '../events/job-events';
import { badRequest, notFound } from '../errors';
import { arrayLiteral } from '../ingest/array-literal';
import { findJob, insertJob, listJobs, listRuns } from './jobs.repository';
import { jsonb, toJob } from './jobs.table';
import { newSeed } from '../../training/curve';
import type { Job } from '../../training/job';
import { DEFAULT_PRIMARY_METRIC, SIMULATED_PRIMARY_METRIC } from '../../training/metrics';
import { hyperparameterConfig, validateNewJob, type NewJob } from '../../training/job-input';
import { encodeCursor, parseRunListParams, type RunListRequest } from '../../training/run-list';

export async function getJob(db: Db, id: string): Promise<Job> {
	const row = await findJob(db, id);
	if (!row)
		throw notFound(`No job has the id ${id}. It may never have existed, been deleted, or the database was reset.`);
	return toJob(row);
}

/** The newest jobs, without config (what the all-jobs feed starts with). */
export async function getJobs(db: Db): Promise<Job[]> {
	return (await listJobs(db)).map(toJob);
}

export interface RunPage {
	jobs: Job[];
	/** Absent on the last page. */
	nextCursor?: string;
}

/** One page of the run table for an already-validated request. */
export async function getRunPage(db: Db, request: RunListRequest): Promise<RunPage> {
	const { rows, last, more } = await listRuns(db, request);
	const jobs = rows.map(toJob);
	return more && last ? { jobs, nextCursor: encodeCursor(last) } : { jobs };
}

/** GET /api/training/jobs: every parameter validated, a bad one is a 400 naming it. */
export async function listRunsFromParams(db: Db, params: URLSearchParams): Promise<RunPage> {
	const parsed = parseRunListParams(params);
	if (!parsed.ok) throw badRequest(parsed.error, { [parsed.param]: parsed.error });
	return getRunPage(db, parsed.request);
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
		seed: newSeed(),
		config: jsonb(job.config ?? hyperparameterConfig(job)),
		tags: arrayLiteral(job.tags ?? []),
		note: job.note ?? '',
		primary_metric:
			job.source === 'simulated' ? SIMULATED_PRIMARY_METRIC : (job.primaryMetric ?? DEFAULT_PRIMARY_METRIC)
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
