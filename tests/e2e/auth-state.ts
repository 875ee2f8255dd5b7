import fs from 'node:fs';
import { signIn } from '../support/server';

/**
 * The browser state every test starts from (playwright.config.ts: use.storageState): a
 * session on the shared server, and one on each temp server started since. Test servers
 * share the host 127.0.0.1 and name their session cookies by port, so they do not clash.
 */
export function storageStatePath(): string {
	const file = process.env.VAPOR_E2E_STATE;
	if (!file) throw new Error('VAPOR_E2E_STATE is unset: playwright.config.ts sets it.');
	return file;
}

interface StorageState {
	cookies: Record<string, unknown>[];
	origins: unknown[];
}

export function resetStorageState(): void {
	fs.writeFileSync(storageStatePath(), JSON.stringify({ cookies: [], origins: [] } satisfies StorageState));
}

/** Signs in to the server as the test admin and keeps the session for every later test's browser. */
export async function addSessionFor(url: string): Promise<void> {
	const { name, value } = await signIn(url);
	// Two workers may add their temp servers' sessions at once: one read-modify-write at a time.
	await withStateLock(() => {
		const state = JSON.parse(fs.readFileSync(storageStatePath(), 'utf8')) as StorageState;
		state.cookies = state.cookies.filter((cookie) => cookie.name !== name);
		state.cookies.push({
			name,
			value,
			domain: new URL(url).hostname,
			path: '/',
			expires: -1,
			httpOnly: true,
			secure: false,
			sameSite: 'Lax'
		});
		// Written whole under another name, then renamed: a browser context never reads half a file.
		const next = `${storageStatePath()}.${process.pid}`;
		fs.writeFileSync(next, JSON.stringify(state));
		fs.renameSync(next, storageStatePath());
	});
}

/** mkdir is atomic: the worker that makes the lock folder holds it until it removes it. */
async function withStateLock(update: () => void): Promise<void> {
	const lock = `${storageStatePath()}.lock`;
	const deadline = Date.now() + 30_000;
	for (;;) {
		try {
			fs.mkdirSync(lock);
			break;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || Date.now() > deadline) throw error;
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	}
	try {
		update();
	} finally {
		fs.rmdirSync(lock);
	}
}
