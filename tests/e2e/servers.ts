import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../support/server';

export interface TempServer {
	url: string;
	/** Stops the process and starts it again on the same port and data (for reconnect tests). */
	restart(): Promise<void>;
	/** Stops the server and removes its data folder. */
	stop(): Promise<void>;
}

/** A built server of its own, on a fresh PGlite folder, for specs that need a database other than the shared one. */
export async function startTempServer({
	demo,
	env = {}
}: {
	demo: boolean;
	env?: Record<string, string>;
}): Promise<TempServer> {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-e2e-'));
	const remove = () => fs.rmSync(dataDir, { recursive: true, force: true });
	const serverEnv = { VAPOR_DATA_DIR: dataDir, VAPOR_DEMO: demo ? '1' : '0', ...env };
	let server: RunningServer;
	try {
		server = await startServer(serverEnv);
	} catch (error) {
		remove();
		throw error;
	}
	return {
		url: server.url,
		async restart() {
			await server.stop();
			server = await startServer(serverEnv, { port: server.port });
		},
		async stop() {
			await server.stop();
			remove();
		}
	};
}

/** Starting PGlite, migrating and seeding takes several seconds on this machine. */
export const SERVER_START_TIMEOUT = 60_000;
