import { sql } from 'kysely';
import type { Db } from '../db';
import type { MetricPoint } from '../../training/job';

export interface NewPoint {
	jobId: string;
	step: number;
	epoch: number;
	loss: number;
	accuracy: number | null;
	/** Defaults to the time of the insert. */
	recordedAt?: Date;
}

/**
 * Writes any number of points, of any number of jobs, in one statement: each column
 * travels as one array parameter and `unnest` turns them back into rows, which is
 * close to COPY in speed and keeps the statement's text the same for every batch.
 */
export async function insertPoints(db: Db, points: readonly NewPoint[]): Promise<void> {
	if (points.length === 0) return;
	const now = new Date();
	await sql`
		insert into metrics (job_id, step, epoch, loss, accuracy, recorded_at)
		select * from unnest(
			${points.map((p) => p.jobId)}::uuid[],
			${points.map((p) => p.step)}::integer[],
			${points.map((p) => p.epoch)}::integer[],
			${points.map((p) => p.loss)}::double precision[],
			${points.map((p) => p.accuracy)}::double precision[],
			${points.map((p) => (p.recordedAt ?? now).toISOString())}::timestamptz[]
		)`.execute(db);
}

export const MAX_PAGE_SIZE = 10_000;

/** Points of a job after `afterStep`, ascending by step. */
export async function listPoints(
	db: Db,
	jobId: string,
	{ afterStep = 0, limit = MAX_PAGE_SIZE }: { afterStep?: number; limit?: number } = {}
): Promise<MetricPoint[]> {
	const rows = await db
		.selectFrom('metrics')
		.select(['step', 'epoch', 'loss', 'accuracy', 'recorded_at'])
		.where('job_id', '=', jobId)
		.where('step', '>', afterStep)
		.orderBy('step')
		.limit(limit)
		.execute();
	return rows.map((row) => ({
		step: row.step,
		epoch: row.epoch,
		loss: row.loss,
		accuracy: row.accuracy,
		recordedAt: row.recorded_at.toISOString()
	}));
}
