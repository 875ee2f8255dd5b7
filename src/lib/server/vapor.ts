import { readConfig, type VaporConfig } from './config';
import { databaseTarget, describeTarget, openDatabase, type DatabaseHandle, type Db } from './db';
import { migrateToLatest } from './db/migrate';
import { seedDemoJobs } from './jobs/demo-jobs';
import { log } from './log';

/** What one server process runs. Kept on globalThis so that Vite dev reloads reuse it. */
interface Vapor {
	config: VaporConfig;
	database: DatabaseHandle;
	ready: Promise<void>;
}

const KEY = Symbol.for('vapor.process');
type Global = typeof globalThis & { [KEY]?: Vapor };

export function startVapor(config: VaporConfig = readConfig()): Promise<void> {
	const global = globalThis as Global;
	if (global[KEY]) return global[KEY].ready;

	const target = databaseTarget(config);
	const database = openDatabase(target);
	const ready = (async () => {
		const applied = await migrateToLatest(database.db);
		log.info('database ready', { database: describeTarget(target), migrationsApplied: applied.length });
		if (config.demo) {
			const created = await seedDemoJobs(database.db);
			if (created > 0) log.info('created demo jobs', { count: created });
		}
	})();
	global[KEY] = { config, database, ready };
	return ready;
}

export async function stopVapor(): Promise<void> {
	const global = globalThis as Global;
	const vapor = global[KEY];
	if (!vapor) return;
	delete global[KEY];
	await vapor.ready.catch(() => {});
	await vapor.database.close();
}

function current(): Vapor {
	const vapor = (globalThis as Global)[KEY];
	if (!vapor) throw new Error('Vapor has not been started: startVapor() runs in hooks.server.ts init.');
	return vapor;
}

/** The one Kysely instance of this process. */
export function db(): Db {
	return current().database.db;
}
