import { sql } from 'kysely';
import type { Db } from '../db';

export interface RunningJob {
	id: string;
	seed: number;
	learningRate: number;
	batchSize: number;
	stepsPerEpoch: number;
	totalSteps: number;
	primaryMetric: string;
	/** The last committed step; the next row is lastStep + 1. */
	lastStep: number;
}

/** The running jobs whose lease `owner` holds (see leases.repository), with their last steps. */
export async function listRunningJobs(db: Db, owner: string): Promise<RunningJob[]> {
	const rows = await db
		.selectFrom('jobs')
		.select([
			'jobs.id',
			'seed',
			'learning_rate',
			'batch_size',
			'steps_per_epoch',
			'epochs',
			'primary_metric',
			sql<number | null>`(select max(step) from metric_rows r where r.job_id = jobs.id)`.as('step')
		])
		.where('jobs.status', '=', 'running')
		.where('jobs.source', '=', 'simulated')
		.where('jobs.lease_owner', '=', owner)
		.execute();
	return rows.map((row) => ({
		id: row.id,
		seed: row.seed,
		learningRate: row.learning_rate,
		batchSize: row.batch_size,
		stepsPerEpoch: row.steps_per_epoch,
		totalSteps: row.epochs * row.steps_per_epoch,
		primaryMetric: row.primary_metric,
		lastStep: row.step ?? 0
	}));
}
