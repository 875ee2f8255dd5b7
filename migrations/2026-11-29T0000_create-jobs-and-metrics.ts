import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any>: they are frozen in time and must not follow later
// changes to the Database interface.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('jobs')
		.addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
		.addColumn('name', 'text', (col) => col.notNull().check(sql`char_length(name) between 1 and 100`))
		.addColumn('base_model', 'text', (col) => col.notNull())
		.addColumn('dataset', 'text', (col) => col.notNull())
		.addColumn('epochs', 'integer', (col) => col.notNull().check(sql`epochs between 1 and 1000`))
		.addColumn('steps_per_epoch', 'integer', (col) =>
			col
				.notNull()
				.defaultTo(100)
				.check(sql`steps_per_epoch > 0`)
		)
		.addColumn('learning_rate', 'double precision', (col) =>
			col.notNull().check(sql`learning_rate > 0 and learning_rate <= 1`)
		)
		.addColumn('batch_size', 'integer', (col) => col.notNull().check(sql`batch_size between 1 and 4096`))
		.addColumn('seed', 'integer', (col) => col.notNull())
		.addColumn('status', 'text', (col) =>
			col
				.notNull()
				.defaultTo('queued')
				.check(sql`status in ('queued', 'running', 'completed', 'failed', 'stopped')`)
		)
		.addColumn('error', 'text')
		.addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.addColumn('started_at', 'timestamptz')
		.addColumn('finished_at', 'timestamptz')
		.execute();

	// The jobs list reads newest first; the simulator reads the running jobs.
	await db.schema.createIndex('jobs_created_at_idx').on('jobs').columns(['created_at desc', 'id desc']).execute();
	await db.schema
		.createIndex('jobs_running_idx')
		.on('jobs')
		.column('status')
		.where(sql.ref('status'), '=', 'running')
		.execute();

	await db.schema
		.createTable('metrics')
		.addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
		.addColumn('step', 'integer', (col) => col.notNull().check(sql`step > 0`))
		.addColumn('epoch', 'integer', (col) => col.notNull().check(sql`epoch > 0`))
		.addColumn('loss', 'double precision', (col) => col.notNull())
		.addColumn('accuracy', 'double precision')
		.addColumn('recorded_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		// The primary key doubles as the index for "points of a job after step N".
		.addPrimaryKeyConstraint('metrics_pkey', ['job_id', 'step'])
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('metrics').execute();
	await db.schema.dropTable('jobs').execute();
}
