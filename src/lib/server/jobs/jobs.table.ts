import type { Insertable, Selectable, Updateable } from 'kysely';
import type { JobsTable } from '../db/database';
import type { Job } from '../../training/job';

export type JobRow = Selectable<JobsTable>;
export type NewJobRow = Insertable<JobsTable>;
export type JobUpdate = Updateable<JobsTable>;

/** A job row with its latest recorded point, as the reads return it. */
export interface JobWithLatest extends JobRow {
	current_step: number | null;
	latest_loss: number | null;
	latest_accuracy: number | null;
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);

export function toJob(row: JobWithLatest): Job {
	return {
		id: row.id,
		name: row.name,
		baseModel: row.base_model,
		dataset: row.dataset,
		epochs: row.epochs,
		stepsPerEpoch: row.steps_per_epoch,
		totalSteps: row.epochs * row.steps_per_epoch,
		learningRate: row.learning_rate,
		batchSize: row.batch_size,
		status: row.status,
		source: row.source,
		createdAt: row.created_at.toISOString(),
		startedAt: iso(row.started_at),
		finishedAt: iso(row.finished_at),
		error: row.error,
		currentStep: row.current_step ?? 0,
		latestLoss: row.latest_loss,
		latestAccuracy: row.latest_accuracy,
		primaryMetric: row.primary_metric
	};
}
