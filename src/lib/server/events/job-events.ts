import { randomUUID } from 'node:crypto';
import type { Db } from '../db';
import { log } from '../log';
import { EventBus } from './event-bus';
import { notifyStatus } from './notify';
import type { Job, MetricPoint } from '../../training/job';

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

	/** Points are notified by the statement that commits them (see simulator.repository). */
	pointsCommitted(jobId: string, points: MetricPoint[]): void {
		this.bus.publish({ type: 'points', jobId, points });
	}
}
