import type { Kysely } from 'kysely';

/**
 * When an external job's script was last heard from (points or a heartbeat), so that a
 * running job whose script died is failed after VAPOR_LOST_AFTER_S instead of staying
 * running for ever (see src/lib/server/jobs/transitions.ts, failLostJobs).
 */
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema.alterTable('jobs').addColumn('last_contact_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.alterTable('jobs').dropColumn('last_contact_at').execute();
}
