import { sql, type Kysely } from 'kysely';

/**
 * Several Vapor instances on one database: each running job is advanced by the instance
 * that holds its lease (see src/lib/server/simulator/leases.repository.ts), and each
 * live instance records a heartbeat, so that running jobs can be shared out fairly.
 */
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.alterTable('jobs')
		.addColumn('lease_owner', 'text')
		.addColumn('lease_expires_at', 'timestamptz')
		.execute();
	await db.schema
		.createTable('vapor_instances')
		.addColumn('id', 'text', (col) => col.primaryKey())
		.addColumn('seen_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('vapor_instances').execute();
	await db.schema.alterTable('jobs').dropColumn('lease_expires_at').dropColumn('lease_owner').execute();
}
