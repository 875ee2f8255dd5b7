/**
 * npm run migrate            apply every pending migration
 * npm run migrate -- down    undo the latest migration
 * Uses DATABASE_URL when set, else the embedded database in VAPOR_DATA_DIR (default .vapor/).
 */
import { readConfig } from '../src/lib/server/config';
import { databaseTarget, describeTarget, openDatabase } from '../src/lib/server/db';
import { migrateDown, migrateToLatest } from '../src/lib/server/db/migrate';

const command = process.argv[2] ?? 'latest';
if (!['latest', 'down'].includes(command)) {
	console.error(`Unknown command "${command}". Use: npm run migrate [-- latest | down]`);
	process.exit(2);
}

const target = databaseTarget(readConfig());
const database = openDatabase(target);
try {
	const applied = command === 'down' ? await migrateDown(database.db) : await migrateToLatest(database.db);
	console.log(`${describeTarget(target)}: ${applied.length ? applied.join(', ') : 'already up to date'}`);
} catch (error) {
	console.error((error as Error).message);
	process.exitCode = 1;
} finally {
	await database.close();
}
