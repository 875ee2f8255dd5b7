import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makePgliteTemplate } from '../support/pglite-template';
import { startServer } from '../support/server';
import { addSessionFor, resetStorageState, storageStatePath } from './auth-state';

/**
 * One built server for the run, on a throwaway PGlite folder, seeded with the three
 * demo jobs. Workers start after this returns, so they inherit VAPOR_E2E_URL, which
 * playwright.config.ts reads as baseURL. The browser state is signed in once, here, as
 * the test admin (auth-state.ts). The returned function is the teardown.
 */
export default async function globalSetup() {
	// The specs' temp servers (servers.ts) copy their migrated cluster from the template; this
	// server's folder stays empty, for PGlite's own first start (initdb, every migration), as a
	// new user's `npm start` makes it. The two are made side by side.
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-e2e-'));
	const [template, started] = await Promise.allSettled([
		makePgliteTemplate(),
		startServer({ VAPOR_DATA_DIR: dataDir, VAPOR_DEMO: '1' })
	]);
	const removeTemplate = template.status === 'fulfilled' ? template.value : () => {};
	if (started.status === 'rejected' || template.status === 'rejected') {
		if (started.status === 'fulfilled') await started.value.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
		removeTemplate();
		throw started.status === 'rejected' ? started.reason : (template as PromiseRejectedResult).reason;
	}
	const server = started.value;
	process.env.VAPOR_E2E_URL = server.url;
	resetStorageState();
	await addSessionFor(server.url);

	return async () => {
		await server.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
		fs.rmSync(storageStatePath(), { force: true });
		removeTemplate();
	};
}
