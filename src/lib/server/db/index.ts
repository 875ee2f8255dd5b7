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
		// end() first: postgres.js never resolves end() for a connection still reserved
		// by a query in flight, which would keep a stopping server alive.
		const close = async () => {
			await client.end({ timeout: 5 });
			await db.destroy();
		};
		return { db, target, postgres: client, close };
	}

	const releaseLock = target.dataDir ? lockDataDir(target.dataDir) : () => {};
	const pglite = new PGlite(target.dataDir);
	const db = new Kysely<Database>({ dialect: new SerializedPGliteDialect({ pglite }) });
	return {
		db,
		target,
		postgres: undefined,
		close: async () => {
			await db.destroy();
			if (!pglite.closed) await pglite.close();
			releaseLock();
		}
	};
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/**
 * PGlite is a database inside this process: a second process opening the same folder
 * would corrupt it. A lock file with our pid turns that into a clear error; a lock
 * left by a process that died (SIGKILL) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
	fs.mkdirSync(dataDir, { recursive: true });
	const lockFile = `${dataDir}.lock`;
	try {
		const holder = Number(fs.readFileSync(lockFile, 'utf8'));
		if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
			throw new Error(
				`Another Vapor process (pid ${holder}) is using the embedded database in ${dataDir}. ` +
					`Stop it first, or set VAPOR_DATA_DIR to another folder. (If no Vapor process is running, delete ${lockFile}.)`
			);
		}
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
	}
	fs.writeFileSync(lockFile, String(process.pid));
	return () => fs.rmSync(lockFile, { force: true });
}

/** Describes the target for logs without leaking a password. */
export function describeTarget(target: DatabaseTarget): string {
	if (target.kind === 'pglite') return `embedded PGlite (${target.dataDir ?? 'in memory'})`;
	const url = new URL(target.url);
	url.password = url.password ? '***' : '';
	return `PostgreSQL ${url.toString()}`;
}
