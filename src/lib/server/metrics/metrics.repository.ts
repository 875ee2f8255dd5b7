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
	return rows.map(toPoint);
}

function toPoint(row: {
	step: number;
	epoch: number;
	loss: number;
	accuracy: number | null;
	recorded_at: Date;
}): MetricPoint {
	return {
		step: row.step,
		epoch: row.epoch,
		loss: row.loss,
		accuracy: row.accuracy,
		recordedAt: row.recorded_at.toISOString()
	};
}

/**
 * The points of a job after `afterStep`, downsampled in the database with M4 (see
 * training/downsample.ts) to `columns` columns: each keeps its first and last point
 * and the points of lowest and highest loss and accuracy, so no spike is lost.
 * One pass of hash aggregation (min/max of [value, step] arrays), then an index
 * lookup of the chosen steps: the rows themselves never leave the database.
 */
export async function listDownsampledPoints(
	db: Db,
	jobId: string,
	{ columns, afterStep = 0 }: { columns: number; afterStep?: number }
): Promise<MetricPoint[]> {
	const { rows } = await sql<{ step: number; epoch: number; loss: number; accuracy: number | null; recorded_at: Date }>`
		with bounds as (
			select min(step) as lo, max(step) as hi from metrics where job_id = ${jobId} and step > ${afterStep}
		),
		picked as (
			select
				min(m.step) as first_step,
				max(m.step) as last_step,
				(min(array[m.loss, m.step]))[2]::integer as min_loss_step,
				(max(array[m.loss, m.step]))[2]::integer as max_loss_step,
				(min(array[m.accuracy, m.step]) filter (where m.accuracy is not null))[2]::integer as min_accuracy_step,
				(max(array[m.accuracy, m.step]) filter (where m.accuracy is not null))[2]::integer as max_accuracy_step
			from metrics m, bounds b
			where m.job_id = ${jobId} and m.step > ${afterStep}
			group by ((m.step - b.lo)::bigint * ${columns}) / (b.hi - b.lo + 1)
		)
		select step, epoch, loss, accuracy, recorded_at from metrics
		where job_id = ${jobId} and step in (
			select unnest(array[first_step, last_step, min_loss_step, max_loss_step, min_accuracy_step, max_accuracy_step])
			from picked
		)
		order by step`.execute(db);
	return rows.map((row) => toPoint({ ...row, recorded_at: new Date(row.recorded_at) }));
}
