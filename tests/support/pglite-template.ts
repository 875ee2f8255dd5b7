import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/**
 * Where the run's global setup leaves an initialised, empty PGlite cluster. A server's
 * first start on an empty data folder runs PGlite's initdb, about 6 CPU seconds each;
 * a copy of this folder is the same empty cluster in milliseconds. Migrations, the
 * admin and everything else still run as on any start against an existing folder.
 */
const TEMPLATE_ENV = 'VAPOR_TEST_PGLITE_TEMPLATE';

/** Runs initdb once, into a temp folder; returns the function that removes it. */
export async function makePgliteTemplate(): Promise<() => void> {
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-pglite-template-'));
	const pglite = new PGlite(path.join(root, 'pglite'));
	await pglite.query('select 1');
	await pglite.close();
	// Workers (vitest forks, Playwright workers) start after the global setup: they inherit it.
	process.env[TEMPLATE_ENV] = root;
	return () => {
		delete process.env[TEMPLATE_ENV];
		fs.rmSync(root, { recursive: true, force: true });
	};
}

/**
 * Puts the template's cluster into an empty Vapor data folder (VAPOR_DATA_DIR), when a
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
