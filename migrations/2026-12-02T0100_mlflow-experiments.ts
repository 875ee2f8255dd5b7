import { sql, type Kysely } from 'kysely';

/**
 * The MLflow drop-in (/api/2.0/mlflow/…, src/lib/server/mlflow/): MLflow's experiments,
 * with the "Default" experiment 0 every MLflow server has, and a row per job created as
 * an MLflow run naming its experiment, the client's user and the run's MLflow tags as
 * sent (the job's own tags hold the short user tags as `key=value`). A job deleted in
 * Vapor takes its row with it.
 */
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('mlflow_experiments')
		.addColumn('id', 'integer', (col) => col.primaryKey().generatedByDefaultAsIdentity())
		.addColumn('name', 'text', (col) => col.notNull().unique())
		.addColumn('artifact_location', 'text', (col) => col.notNull().defaultTo(''))
		.addColumn('tags', 'jsonb', (col) =>
			col
				.notNull()
				.defaultTo(sql`'{}'::jsonb`)
				.check(sql`jsonb_typeof(tags) = 'object'`)
		)
		.addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.execute();
	// Identity values start at 1; 0 is MLflow's default experiment.
	await sql`insert into mlflow_experiments (id, name) overriding system value values (0, 'Default')`.execute(db);

	await db.schema
		.createTable('mlflow_runs')
		.addColumn('job_id', 'uuid', (col) => col.primaryKey().references('jobs.id').onDelete('cascade'))
		.addColumn('experiment_id', 'integer', (col) => col.notNull().references('mlflow_experiments.id'))
		.addColumn('user_id', 'text', (col) => col.notNull().defaultTo(''))
		.addColumn('tags', 'jsonb', (col) =>
			col
				.notNull()
				.defaultTo(sql`'{}'::jsonb`)
				.check(sql`jsonb_typeof(tags) = 'object'`)
		)
		.execute();
	await db.schema.createIndex('mlflow_runs_experiment_idx').on('mlflow_runs').column('experiment_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('mlflow_runs').execute();
	await db.schema.dropTable('mlflow_experiments').execute();
}
