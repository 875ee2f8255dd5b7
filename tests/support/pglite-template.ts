import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/lib/server/db';
import { migrateToLatest } from '../../src/lib/server/db/migrate';

/**
 * Where the run's global setup leaves an initialised PGlite cluster with every migration
 * applied and no rows. A server's first start on an empty data folder runs PGlite's initdb
 * (about 6 CPU seconds) and then the migrations (over a CPU second more); a copy of this
 * folder is the same database in milliseconds, and a start on it finds nothing to apply.
 * The admin and everything else still run as on any start against an existing folder.
 * Migrations are tested by themselves (*-migration tests on the schema before each), and
 * from an empty folder by restart.test.ts and the e2e suite's shared server.
 */
const TEMPLATE_ENV = 'VAPOR_TEST_PGLITE_TEMPLATE';

/** Runs initdb and the migrations once, into a temp folder; returns the function that removes it. */
export async function makePgliteTemplate(): Promise<() => void> {
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-pglite-template-'));
	const handle = openDatabase({ kind: 'pglite', dataDir: path.join(root, 'pglite') });
	try {
		await migrateToLatest(handle.db);
	} finally {
		await handle.close();
	}
	// Workers (vitest forks, Playwright workers) start after the global setup: they inherit it.
	process.env[TEMPLATE_ENV] = root;
	return () => {
		delete process.env[TEMPLATE_ENV];
		fs.rmSync(root, { recursive: true, force: true });
	};
}

/**
 * Puts the template's migrated cluster into an empty Vapor data folder (VAPOR_DATA_DIR), when a
 * template exists: bench runs have none and pay for initdb. Returns whether it did.
 */
export function seedFromTemplate(dataDir: string): boolean {
	const template = process.env[TEMPLATE_ENV];
	const target = path.join(dataDir, 'pglite');
	if (!template || fs.existsSync(target)) return false;
	fs.mkdirSync(dataDir, { recursive: true });
	fs.cpSync(path.join(template, 'pglite'), target, { recursive: true });
	return true;
}
