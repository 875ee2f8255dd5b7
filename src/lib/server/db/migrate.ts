import { sql } from 'kysely';
import { Migrator, NO_MIGRATIONS, type MigrationResultSet } from 'kysely/migration';
import { migrations } from '../../../../migrations/index';
import type { Db } from './index';

function migratorFor(db: Db): Migrator {
	return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

function assertSucceeded({ error, results }: MigrationResultSet): string[] {
	const failed = results?.find((result) => result.status === 'Error');
	if (error) {
		const where = failed ? ` in migration ${failed.migrationName}` : '';
		throw new Error(`Database migration failed${where}: ${String((error as Error).message ?? error)}`, {
			cause: error
		});
	}
	return (results ?? []).map((result) => `${result.direction} ${result.migrationName}`);
}

/**
 * Applies every pending migration. Kysely's migrator holds a Postgres advisory lock
 * while it runs, so instances that start together apply each migration once.
 */
export async function migrateToLatest(db: Db): Promise<string[]> {
	return assertSucceeded(await migratorFor(db).migrateToLatest());
}

export async function migrateDown(db: Db, steps = 1): Promise<string[]> {
	const applied: string[] = [];
	for (let i = 0; i < steps; i++) applied.push(...assertSucceeded(await migratorFor(db).migrateDown()));
	return applied;
}

/** Migrates up or down to the named migration (tests of one migration on the schema before it). */
export async function migrateTo(db: Db, name: string): Promise<string[]> {
	return assertSucceeded(await migratorFor(db).migrateTo(name));
}

export async function migrateToNothing(db: Db): Promise<string[]> {
	return assertSucceeded(await migratorFor(db).migrateTo(NO_MIGRATIONS));
}

/** Runs `work` while holding a transaction-scoped advisory lock named by `key`. */
export async function withAdvisoryLock<T>(db: Db, key: number, work: (trx: Db) => Promise<T>): Promise<T> {
	return db.transaction().execute(async (trx) => {
		await sql`select pg_advisory_xact_lock(${key})`.execute(trx);
		return work(trx);
	});
}
