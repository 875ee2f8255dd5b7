import type { Db } from '../db';
import { conflict, notFound } from '../errors';
import type { JobEvents } from '../events/job-events';
import { findJob } from '../jobs/jobs.repository';
import { recordContact } from '../jobs/transitions';
import type { JobStatus } from '../../training/job';

/**
 * A training script says it is alive (the clients send one every 30 s while nothing else
 * goes out): the job is not failed for lost contact, and is revived if it had been.
 */
export async function heartbeat(db: Db, events: JobEvents, id: string): Promise<{ status: JobStatus }> {
	const row = await findJob(db, id);
	if (!row) throw notFound(`No job has the id ${id}. It may never have existed, or the database was reset.`);
	if (row.source !== 'external') {
		throw conflict(`"${row.name}" is a simulated job: heartbeats are for jobs reported by a training script.`);
	}
	const revived = await recordContact(db, events, id);
	return { status: revived ? 'running' : row.status };
}
