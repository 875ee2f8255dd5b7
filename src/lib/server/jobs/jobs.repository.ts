import type { Db } from '../db';
import type { NewJobRow, JobWithLatest } from './jobs.table';

/** Jobs joined with their latest point; the metrics primary key makes the lateral read one index probe. */
function selectJobs(db: Db) {
	return db
		.selectFrom('jobs')
		.leftJoinLateral(
			(eb) =>
				eb
					.selectFrom('metrics')
					.select(['metrics.step', 'metrics.loss', 'metrics.accuracy'])
					.whereRef('metrics.job_id', '=', 'jobs.id')
					.orderBy('metrics.step', 'desc')
					.limit(1)
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
