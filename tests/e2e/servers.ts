import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../support/server';

export interface TempServer {
	url: string;
	/** Stops the server and removes its data folder. */
	stop(): Promise<void>;
}

/** A built server of its own, on a fresh PGlite folder, for specs that need a database other than the shared one. */
export async function startTempServer({ demo }: { demo: boolean }): Promise<TempServer> {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-e2e-'));
	const remove = () => fs.rmSync(dataDir, { recursive: true, force: true });
	try {
		const server = await startServer({ VAPOR_DATA_DIR: dataDir, VAPOR_DEMO: demo ? '1' : '0' });
		return {
			url: server.url,
			stop: async () => {
				await server.stop();
				remove();
			}
		};
	} catch (error) {
		remove();
		throw error;
	}
}

/** Starting PGlite, migrating and seeding takes several seconds on this machine. */
export const SERVER_START_TIMEOUT = 60_000;
