import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { Db } from '../db';
import type { MlflowExperimentsTable, MlflowRunsTable } from '../db/database';
import { keySummariesSql } from '../metrics/metric-key-summaries.repository';

export type ExperimentRow = Selectable<MlflowExperimentsTable>;
export type MlflowRunRow = Selectable<MlflowRunsTable>;

/** A key → value map as jsonb (sent as text and cast, as jobs.table's jsonb()). */
const jsonbMap = (value: Record<string, string>): RawBuilder<Record<string, string>> =>
	sql<Record<string, string>>`cast(${JSON.stringify(value)}::text as jsonb)`;

export async function findExperimentById(db: Db, id: number): Promise<ExperimentRow | undefined> {
	return db.selectFrom('mlflow_experiments').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findExperimentByName(db: Db, name: string): Promise<ExperimentRow | undefined> {
	return db.selectFrom('mlflow_experiments').selectAll().where('name', '=', name).executeTakeFirst();
}

/** Inserts an experiment; undefined when the name is taken (by a concurrent create too). */
export async function insertExperiment(
	db: Db,
	experiment: { name: string; artifactLocation: string | undefined; tags: Record<string, string> }
): Promise<ExperimentRow | undefined> {
	return db
		.insertInto('mlflow_experiments')
		.values({
			name: experiment.name,
			artifact_location: experiment.artifactLocation ?? '',
			tags: jsonbMap(experiment.tags)
		})
		.onConflict((conflict) => conflict.column('name').doNothing())
		.returningAll()
		.executeTakeFirst();
}

export async function insertRun(
	db: Db,
	run: { jobId: string; experimentId: number; userId: string; tags: Record<string, string> }
): Promise<void> {
	await db
		.insertInto('mlflow_runs')
		.values({ job_id: run.jobId, experiment_id: run.experimentId, user_id: run.userId, tags: jsonbMap(run.tags) })
		.execute();
}

export async function findRun(db: Db, jobId: string): Promise<MlflowRunRow | undefined> {
	return db.selectFrom('mlflow_runs').selectAll().where('job_id', '=', jobId).executeTakeFirst();
}

/**
 * Sets MLflow tags of a run (later values win). A job made in Vapor and taken up by an
 * MLflow script gets its row here, in the default experiment.
 */
export async function setRunTags(db: Db, jobId: string, tags: Record<string, string>): Promise<void> {
	await db
		.insertInto('mlflow_runs')
		.values({ job_id: jobId, experiment_id: 0, tags: jsonbMap(tags) })
		.onConflict((conflict) =>
			conflict.column('job_id').doUpdateSet({ tags: sql<Record<string, string>>`mlflow_runs.tags || excluded.tags` })
		)
		.execute();
}

/** When each key's last value was recorded (what MLflow's runs/get shows beside it). */
export async function lastRecordedAt(db: Db, jobId: string): Promise<Map<string, Date>> {
	const { rows } = await sql<{ key: string; recorded_at: Date | string }>`
		select k.key, r.recorded_at from (${keySummariesSql(jobId)}) k
		cross join lateral (
			select r.recorded_at from metric_rows r
			where r.job_id = k.job_id and r.step = k.last_step and k.key_no = any(r.keys)
			order by r.position desc limit 1
		) r`.execute(db);
	return new Map(rows.map((row) => [row.key, new Date(row.recorded_at)]));
}
