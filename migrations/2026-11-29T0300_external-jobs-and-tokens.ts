import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any>: they are frozen in time and must not follow later
// changes to the Database interface.
export async function up(db: Kysely<any>): Promise<void> {
	// Who writes a job's points: the built-in simulator, or a training script through the API.
	await db.schema
		.alterTable('jobs')
		.addColumn('source', 'text', (col) =>
			col
				.notNull()
				.defaultTo('simulated')
				.check(sql`source in ('simulated', 'external')`)
		)
		.execute();

	// API tokens are kept as SHA-256 hashes only: the token itself is shown once, when created.
	await db.schema
		.createTable('api_tokens')
		.addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
		.addColumn('name', 'text', (col) => col.notNull().check(sql`char_length(name) between 1 and 100`))
		.addColumn('token_hash', 'text', (col) => col.notNull().unique())
		// The first and last characters (e.g. "vpr_3kF9…x2Qa"), so a person can tell tokens apart.
		.addColumn('hint', 'text', (col) => col.notNull())
		.addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.addColumn('revoked_at', 'timestamptz')
		.execute();
	// Names identify tokens in the CLI (`revoke NAME`): unique among the active ones.
	await db.schema
		.createIndex('api_tokens_active_name_idx')
		.on('api_tokens')
		.column('name')
		.unique()
		.where(sql.ref('revoked_at'), 'is', null)
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('api_tokens').execute();
	await db.schema.alterTable('jobs').dropColumn('source').execute();
}
