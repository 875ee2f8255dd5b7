/**
 * API tokens from the command line, on whichever database the server uses:
 *   npm run token -- create NAME      prints the new token (on stdout, alone) once
 *   npm run token -- revoke NAME|ID
 *   npm run token -- list
 * Uses DATABASE_URL when set, else the embedded database in VAPOR_DATA_DIR (default .vapor/).
 * The embedded database belongs to one process at a time: while a server runs on it, use
 * the Settings page (/settings) instead, or stop the server for a moment.
 */
import { readConfig } from '../src/lib/server/config';
import { databaseTarget, describeTarget, openDatabase, type DatabaseHandle } from '../src/lib/server/db';
import { migrateToLatest } from '../src/lib/server/db/migrate';
import { HttpError } from '../src/lib/server/errors';
import { createToken, listTokens, revokeToken } from '../src/lib/server/auth/tokens.service';

const USAGE = `Usage:
  npm run token -- create NAME      create a token; it is printed once, keep it
  npm run token -- revoke NAME|ID   revoke an active token
  npm run token -- list             list tokens (never the tokens themselves)`;

const [command, ...rest] = process.argv.slice(2);
const argument = rest.join(' ').trim();
if (!command || !['create', 'revoke', 'list'].includes(command) || (command !== 'list' && !argument)) {
	console.error(
		command && !['create', 'revoke', 'list'].includes(command) ? `Unknown command "${command}".\n\n${USAGE}` : USAGE
	);
	process.exit(2);
}

const target = databaseTarget(readConfig());
let database: DatabaseHandle;
try {
	database = openDatabase(target);
	await migrateToLatest(database.db);
} catch (error) {
	const message = (error as Error).message;
	if (target.kind === 'pglite' && /is using the embedded database/.test(message)) {
		console.error(
			`${message}\n\nThe embedded database can only be opened by one process. While the server runs, ` +
				'create and revoke tokens on its Settings page (/settings); or stop the server, run this command, and start it again.'
		);
	} else {
		console.error(`Could not open ${describeTarget(target)}: ${message}`);
	}
	process.exit(1);
}

const pad = (text: string, width: number) => text.padEnd(width);
try {
	if (command === 'create') {
		const { token, info } = await createToken(database.db, argument);
		console.error(`Created token "${info.name}" (id ${info.id}) in ${describeTarget(target)}.`);
		console.error('Copy it now: only its hash is stored, so it cannot be shown again.');
		console.log(token);
	} else if (command === 'revoke') {
		const info = await revokeToken(database.db, argument);
		console.log(`Revoked token "${info.name}" (${info.hint}, id ${info.id}). Requests that use it now get 401.`);
	} else {
		const tokens = await listTokens(database.db);
		if (tokens.length === 0) console.log('No tokens yet. Create one with: npm run token -- create NAME');
		const width = Math.max(4, ...tokens.map((t) => t.name.length));
		if (tokens.length > 0)
			console.log(`${pad('NAME', width)}  ${pad('TOKEN', 14)}  ${pad('CREATED', 16)}  ${pad('STATUS', 24)}  ID`);
		for (const t of tokens) {
			const status = t.revokedAt ? `revoked ${t.revokedAt.slice(0, 16).replace('T', ' ')}` : 'active';
			console.log(
				`${pad(t.name, width)}  ${pad(t.hint, 14)}  ${pad(t.createdAt.slice(0, 16).replace('T', ' '), 16)}  ${pad(status, 24)}  ${t.id}`
			);
		}
	}
} catch (error) {
	console.error(error instanceof HttpError ? error.message : `Failed: ${(error as Error).message}`);
	process.exitCode = 1;
} finally {
	await database.close();
}
