import { sql } from 'kysely';
import type { Db } from '../db';
import type { NewJobRow, JobWithLatest } from './jobs.table';

/**
 * Jobs with their latest values: the last step of any key, and the last values of the
 * primary metric and its companion (loss → accuracy), from the keys' summaries.
 */
function selectJobs(db: Db) {
	return db
		.selectFrom('jobs')
		.leftJoinLateral(
			(eb) =>
				eb
					.selectFrom('metric_keys')
					.select((k) => [
						k.fn.max('metric_keys.last_step').as('step'),
						sql<number | null>`(array_agg(last_value) filter (where key = jobs.primary_metric))[1]`.as('loss'),
						sql<
							number | null
						>`(array_agg(last_value) filter (where key = regexp_replace(jobs.primary_metric, 'loss$', 'accuracy') and jobs.primary_metric ~ 'loss$'))[1]`.as(
							'accuracy'
						)
					])
					.whereRef('metric_keys.job_id', '=', 'jobs.id')
					.as('latest'),
			(join) => join.onTrue()
		)
		.selectAll('jobs')
		.select(['latest.step as current_step', 'latest.loss as latest_loss', 'latest.accuracy as latest_accuracy']);
}

export async function listJobs(db: Db): Promise<JobWithLatest[]> {
	return selectJobs(db).orderBy('jobs.created_at', 'desc').orderBy('jobs.id', 'desc').execute();
}

export async function findJob(db: Db, id: string): Promise<JobWithLatest | undefined> {
	return selectJobs(db).where('jobs.id', '=', id).executeTakeFirst();
}

export async function insertJob(db: Db, job: NewJobRow): Promise<JobWithLatest> {
	const row = await db.insertInto('jobs').values(job).returningAll().executeTakeFirstOrThrow();
	return { ...row, current_step: null, latest_loss: null, latest_accuracy: null };
}

export async function countJobs(db: Db): Promise<number> {
	const { count } = await db
		.selectFrom('jobs')
		.select((eb) => eb.fn.countAll<string>().as('count'))
		.executeTakeFirstOrThrow();
	return Number(count);
}
