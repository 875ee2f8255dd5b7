import { sql, type Kysely } from 'kysely';

/**
 * The M4 extremes of each completed block of 256 steps of a job (first, last, lowest and
 * highest loss and accuracy), as parallel arrays. They let a million-point curve be
 * drawn from a few thousand rows; see src/lib/server/metrics/metric-blocks.repository.ts.
 * The block size is part of the data: changing it needs a migration that rebuilds them.
 */
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('metric_blocks')
		.addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
		.addColumn('block', 'integer', (col) => col.notNull().check(sql`block >= 0`))
		.addColumn('step', sql`integer[]`, (col) => col.notNull())
		.addColumn('epoch', sql`integer[]`, (col) => col.notNull())
		.addColumn('loss', sql`double precision[]`, (col) => col.notNull())
		.addColumn('accuracy', sql`double precision[]`, (col) => col.notNull())
		.addColumn('recorded_at', sql`timestamptz[]`, (col) => col.notNull())
		.addPrimaryKeyConstraint('metric_blocks_pkey', ['job_id', 'block'])
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('metric_blocks').execute();
}
