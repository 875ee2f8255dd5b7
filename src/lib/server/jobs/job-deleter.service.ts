import type { Db } from '../db';
import { log } from '../log';
import { requestJobDelete, type DeleteRequest, type JobDeleter } from './job-deleter';

/** Marks the job for deletion and wakes the background deleter. */
export async function deleteJob(db: Db, deleter: JobDeleter, id: string): Promise<DeleteRequest> {
	const accepted = await requestJobDelete(db, id);
	log.info('job delete requested', { jobId: id, name: accepted.name, points: accepted.points });
	deleter.kick();
	return accepted;
}
