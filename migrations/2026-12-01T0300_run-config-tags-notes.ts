import { sql, type Kysely } from 'kysely';

/**
 * Runs a team can find again: a free JSON config per job (the five hyperparameters of
 * today's jobs are copied into it; their columns stay, so older code and the simulator
 * keep reading them), tags, a note, archiving, and a mark for a delete that runs in the
 * background (the job is gone from every read at once; its points go in batches).
 */
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.alterTable('jobs')
		// The app refuses a config over 64 KB of JSON; the CHECK is a looser safety net
		// because Postgres prints jsonb with spaces.
		.addColumn('config', 'jsonb', (col) =>
			col
				.notNull()
				.defaultTo(sql`'{}'::jsonb`)
				.check(sql`jsonb_typeof(config) = 'object' and octet_length(config::text) <= 131072`)
		)
		.addColumn('tags', sql`text[]`, (col) =>
			col
				.notNull()
				.defaultTo(sql`'{}'::text[]`)
				.check(sql`cardinality(tags) <= 50`)
		)
		.addColumn('note', 'text', (col) =>
			col
				.notNull()
				.defaultTo('')
				.check(sql`char_length(note) <= 10000`)
		)
		.addColumn('archived_at', 'timestamptz')
		.addColumn('deleting_at', 'timestamptz')
		.execute();

	await sql`
		update jobs set config = jsonb_build_object(
			'baseModel', base_model, 'dataset', dataset, 'epochs', epochs,
			'learningRate', learning_rate, 'batchSize', batch_size)`.execute(db);

	// `config @> '{"optimizer":{"lr":0.01}}'` and `tags @> '{nlp}'` are GIN index scans.
	await sql`create index jobs_config_idx on jobs using gin (config jsonb_path_ops)`.execute(db);
	await sql`create index jobs_tags_idx on jobs using gin (tags)`.execute(db);
	// The background deleter finds its work without scanning the table.
	await db.schema
		.createIndex('jobs_deleting_idx')
		.on('jobs')
		.column('deleting_at')
		.where(sql.ref('deleting_at'), 'is not', null)
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	// A job marked for deletion is deleted for good before the mark goes away.
	await sql`delete from jobs where deleting_at is not null`.execute(db);
	await db.schema.dropIndex('jobs_deleting_idx').execute();
	await db.schema.dropIndex('jobs_tags_idx').execute();
	await db.schema.dropIndex('jobs_config_idx').execute();
	await db.schema
		.alterTable('jobs')
		.dropColumn('deleting_at')
		.dropColumn('archived_at')
		.dropColumn('note')
		.dropColumn('tags')
		.dropColumn('config')
		.execute();
}
