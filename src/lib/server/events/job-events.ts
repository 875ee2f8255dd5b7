import { randomUUID } from 'node:crypto';
import type { Db } from '../db';
import { log } from '../log';
import { EventBus } from './event-bus';
import { notifyStatus } from './notify';
import type { Job } from '../../training/job';
import type { CommittedRow } from '../../training/metrics';

/**
 * Publishes committed changes: to this process's subscribers at once, and by NOTIFY
 * to any other process that follows the same database.
 */
export class JobEvents {
	readonly bus = new EventBus();
	constructor(readonly instanceId: string = randomUUID().slice(0, 8)) {}

	/** Call after the status change is committed. */
	async statusChanged(db: Db, job: Job): Promise<void> {
		this.bus.publish({ type: 'status', jobId: job.id, job });
		try {
			await notifyStatus(db, this.instanceId, job.id, job.status);
		} catch (error) {
			// The change is committed; other processes catch up when they next read the job.
			log.warn('could not notify other processes of a status change', { jobId: job.id, status: job.status, error });
		}
	}

	/** Rows are notified by the statement that commits them (metrics.writer). */
	rowsCommitted(jobId: string, primary: string, rows: CommittedRow[]): void {
		if (rows.length > 0) this.bus.publish({ type: 'rows', jobId, primary, rows });
	}
}
