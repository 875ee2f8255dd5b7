import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedFromTemplate } from '../support/pglite-template';
import { startServer, type RunningServer } from '../support/server';
import { addSessionFor } from './auth-state';

export interface TempServer {
	url: string;
	/** Everything the server printed (the setup link, warnings). */
	output(): string;
	/** Stops the process and starts it again on the same port and data (for reconnect tests). */
	restart(): Promise<void>;
	/** Stops the server and removes its data folder. */
	stop(): Promise<void>;
}

/**
 * A built server of its own, on a fresh PGlite folder, for specs that need a database
 * other than the shared one. Unless `signedIn: false`, the browser of every test that
 * starts after this is signed in to it as the test admin.
 */
export async function startTempServer({
	demo,
	env = {},
	signedIn = true
}: {
	demo: boolean;
	env?: Record<string, string>;
	signedIn?: boolean;
}): Promise<TempServer> {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-e2e-'));
	const remove = () => fs.rmSync(dataDir, { recursive: true, force: true });
	seedFromTemplate(dataDir);
	const serverEnv = { VAPOR_DATA_DIR: dataDir, VAPOR_DEMO: demo ? '1' : '0', ...env };
	let server: RunningServer;
	try {
		server = await startServer(serverEnv);
	} catch (error) {
		remove();
		throw error;
	}
	if (signedIn) await addSessionFor(server.url);
	return {
		url: server.url,
		output: () => server.output(),
		async restart() {
			await server.stop();
			// Same port, same database: the sessions (and the cookies naming them) stay valid.
			server = await startServer(serverEnv, { port: server.port });
		},
		async stop() {
			await server.stop();
			remove();
		}
	};
}

/** Starting PGlite, migrating, seeding and signing in takes several seconds on this machine, more under load. */
export const SERVER_START_TIMEOUT = 150_000;
