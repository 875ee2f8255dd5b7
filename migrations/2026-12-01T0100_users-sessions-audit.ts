import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any>: they are frozen in time and must not follow later
// changes to the Database interface.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('users')
		.addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
		// Stored as typed; unique regardless of case, so "Ada" and "ada" are one account.
		.addColumn('username', 'text', (col) => col.notNull().check(sql`char_length(username) between 1 and 64`))
		.addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('viewer', 'editor', 'admin')`))
		// scrypt$N$r$p$salt$hash; null for users that only a proxy signs in (VAPOR_AUTH=proxy).
		.addColumn('password_hash', 'text')
		.addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.execute();
	await db.schema
		.createIndex('users_username_lower_idx')
		.on('users')
		.expression(sql`lower(username)`)
		.unique()
		.execute();

	// A session is known by the SHA-256 of its cookie value only: a leaked table signs nobody in.
	await db.schema
		.createTable('sessions')
		.addColumn('id_hash', 'text', (col) => col.primaryKey())
		.addColumn('user_id', 'uuid', (col) => col.notNull().references('users.id').onDelete('cascade'))
		.addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.addColumn('expires_at', 'timestamptz', (col) => col.notNull())
		.execute();
	await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();

	// Tokens made before accounts existed keep working, owned by nobody, with write scope.
	await db.schema
		.alterTable('api_tokens')
		.addColumn('user_id', 'uuid', (col) => col.references('users.id').onDelete('cascade'))
		.execute();
	await db.schema
		.alterTable('api_tokens')
		.addColumn('scope', 'text', (col) =>
			col
				.notNull()
				.defaultTo('write')
				.check(sql`scope in ('read', 'write')`)
		)
		.execute();

	// Who created or revoked which token, when and from where. Names are copied, so an
	// entry still reads right after the user or the token is gone.
	await db.schema
		.createTable('audit_log')
		.addColumn('id', 'bigserial', (col) => col.primaryKey())
		.addColumn('at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.addColumn('action', 'text', (col) => col.notNull())
		.addColumn('actor', 'text', (col) => col.notNull())
		.addColumn('token_id', 'uuid')
		.addColumn('token_name', 'text')
		.addColumn('token_hint', 'text')
		.addColumn('address', 'text')
		.execute();
	await db.schema.createIndex('audit_log_at_idx').on('audit_log').column('at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('audit_log').execute();
	await db.schema.alterTable('api_tokens').dropColumn('scope').execute();
	await db.schema.alterTable('api_tokens').dropColumn('user_id').execute();
	await db.schema.dropTable('sessions').execute();
	await db.schema.dropTable('users').execute();
}
