import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Database } from './database';
import { SerializedPGliteDialect } from './serialized-pglite-dialect';

export type Db = Kysely<Database>;

export type DatabaseTarget =
	| { kind: 'postgres'; url: string }
	/** `dataDir` undefined means an in-memory database (tests). */
	| { kind: 'pglite'; dataDir: string | undefined };

export interface DatabaseHandle {
	db: Db;
	target: DatabaseTarget;
	/** The postgres.js client, for LISTEN/NOTIFY; undefined on PGlite. */
	postgres: postgres.Sql | undefined;
	close(): Promise<void>;
}

export function databaseTarget(config: { databaseUrl?: string; dataDir: string }): DatabaseTarget {
	return config.databaseUrl
		? { kind: 'postgres', url: config.databaseUrl }
		: { kind: 'pglite', dataDir: path.join(config.dataDir, 'pglite') };
}

export function openDatabase(target: DatabaseTarget): DatabaseHandle {
	if (target.kind === 'postgres') {
		const client = postgres(target.url, {
			max: 10,
			// Postgres sends notices for harmless things (e.g. "relation exists, skipping").
			onnotice: () => {},
			connection: { application_name: 'vapor' }
		});
		const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: client }) });
		return { db, target, postgres: client, close: () => db.destroy() };
	}

	if (target.dataDir) fs.mkdirSync(target.dataDir, { recursive: true });
	const pglite = new PGlite(target.dataDir);
	const db = new Kysely<Database>({ dialect: new SerializedPGliteDialect({ pglite }) });
	return {
		db,
		target,
		postgres: undefined,
		close: async () => {
			await db.destroy();
			if (!pglite.closed) await pglite.close();
		}
	};
}

/** Describes the target for logs without leaking a password. */
export function describeTarget(target: DatabaseTarget): string {
	if (target.kind === 'pglite') return `embedded PGlite (${target.dataDir ?? 'in memory'})`;
	const url = new URL(target.url);
	url.password = url.password ? '***' : '';
	return `PostgreSQL ${url.toString()}`;
}
