import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import postgres from 'postgres';
import { inject } from 'vitest';
import { seedFromTemplate } from './pglite-template';
import { openDatabase, type DatabaseHandle } from '../../src/lib/server/db';

export const BACKENDS = ['pglite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

/**
 * A fresh Postgres database on the test server; returns its URL and a way to drop it. Empty,
 * or (`migrated`) a copy of the run's template database that holds every migration and no rows
 * (global-setup.ts), so that a server started on it has nothing to apply, as with PGlite.
 */
export async function createPostgresDatabase({ migrated = false } = {}): Promise<{
	url: string;
	drop(): Promise<void>;
}> {
	const adminUrl = inject('postgresAdminUrl');
	const name = `vapor_test_${randomBytes(6).toString('hex')}`;
	const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
	await admin.unsafe(
		migrated ? `create database ${name} template ${inject('postgresTemplate')}` : `create database ${name}`
	);
	const url = new URL(adminUrl);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		async drop() {
			await admin.unsafe(`drop database if exists ${name} with (force)`);
			await admin.end();
		}
	};
}

/** Where a server process under test keeps its data: a fresh database of either kind. */
export interface TestStore {
	backend: Backend;
	/** Environment that points a Vapor server at this store. */
	env: Record<string, string>;
	open(): DatabaseHandle;
	dispose(): Promise<void>;
}

/**
 * `empty` leaves a PGlite folder empty, for PGlite's own first start (initdb, migrations);
 * otherwise either kind holds the run's migrated database with no rows (pglite-template.ts,
 * global-setup.ts).
 */
export async function createTestStore(backend: Backend, { empty = false } = {}): Promise<TestStore> {
	if (backend === 'postgres') {
		const database = await createPostgresDatabase({ migrated: true });
		return {
			backend,
			env: { DATABASE_URL: database.url },
			open: () => openDatabase({ kind: 'postgres', url: database.url }),
			dispose: () => database.drop()
		};
	}
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-data-'));
	if (!empty) seedFromTemplate(dataDir);
	return {
		backend,
		env: { VAPOR_DATA_DIR: dataDir },
		open: () => openDatabase({ kind: 'pglite', dataDir: path.join(dataDir, 'pglite') }),
		dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true })
	};
}

export interface TestDatabase extends DatabaseHandle {
	/** Empties the database (schema and migration history), far faster than opening a new PGlite. */
	reset(): Promise<void>;
	dispose(): Promise<void>;
}

/** An open, empty database for in-process tests: in-memory PGlite or a fresh Postgres database. */
export async function openTestDatabase(backend: Backend): Promise<TestDatabase> {
	const reset = async (handle: DatabaseHandle) => {
		await sql`drop schema public cascade`.execute(handle.db);
		await sql`create schema public`.execute(handle.db);
	};
	if (backend === 'pglite') {
		const handle = openDatabase({ kind: 'pglite', dataDir: undefined });
		return { ...handle, reset: () => reset(handle), dispose: () => handle.close() };
	}
	const database = await createPostgresDatabase();
	const handle = openDatabase({ kind: 'postgres', url: database.url });
	return {
		...handle,
		reset: () => reset(handle),
		async dispose() {
			await handle.close();
			await database.drop();
		}
	};
}
