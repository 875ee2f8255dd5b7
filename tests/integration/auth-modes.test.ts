import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Each test starts one or two servers, and signing in runs scrypt: slow on a shared two-core machine.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });
import { createTestStore, type TestStore } from '../support/databases';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster';
import { rawRequest } from '../support/raw-http';
import { authorization, signIn, startServer, type RunningServer } from '../support/server';

const FORM = 'application/x-www-form-urlencoded';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
/** A server with no VAPOR_ADMIN_*: the first admin comes from the setup link. */
const NO_ENV_ADMIN = { VAPOR_ADMIN_USERNAME: '', VAPOR_ADMIN_PASSWORD: '', VAPOR_BOOTSTRAP_TOKEN: '' };

async function withServer(env: Record<string, string>, run: (server: RunningServer) => Promise<void>) {
	const store: TestStore = await createTestStore('pglite');
	const server = await startServer({ ...store.env, ...env });
	try {
		await run(server);
	} finally {
		await server.stop();
		await store.dispose();
	}
}

describe('the first admin, from the link the server prints', () => {
	it('opens only with its one-time code, creates the admin, signs in, and works once', async () => {
		await withServer(NO_ENV_ADMIN, async (server) => {
			const link = /http:\/\/\S+\/setup\?code=([\w-]{32})/.exec(server.output());
			expect(link, server.output()).not.toBeNull();
			const code = link![1]!;
			expect(server.output()).toContain('Create the first admin here');

			expect(await (await fetch(`${server.url}/setup?code=guess`)).text()).toContain('This setup link is not valid');
			expect(await (await fetch(`${server.url}/setup`)).text()).toContain('This setup link is not valid');
			// A guessed code cannot create anyone.
			const guessed = await rawRequest(server.url, 'POST', '/setup', {
				headers: { origin: server.url, 'content-type': FORM, 'x-sveltekit-action': 'true' },
				body: form({ code: 'guess', username: 'mallory', password: 'long enough pass', confirm: 'long enough pass' })
			});
			expect(JSON.parse(guessed.body)).toMatchObject({ type: 'failure', status: 403 });
			// Without a user, pages send you to sign in, which points at the console.
			const page = await fetch(`${server.url}/training/jobs`, { redirect: 'manual' });
			expect(page.status).toBe(303);
			expect(page.headers.get('location')).toBe('/sign-in?next=%2Ftraining%2Fjobs');
			expect(await (await fetch(`${server.url}/sign-in`)).text()).toContain('There is no user yet');

			expect(await (await fetch(`${server.url}/setup?code=${code}`)).text()).toContain('Create the first admin');
			const created = await fetch(`${server.url}/setup`, {
				method: 'POST',
				redirect: 'manual',
				headers: { origin: server.url, 'content-type': FORM, accept: 'text/html' },
				body: form({ code, username: 'ada', password: 'ada password 1234', confirm: 'ada password 1234' })
			});
			expect(created.status).toBe(303);
			const cookie = created.headers
				.getSetCookie()
				.find((c) => c.startsWith('vapor_session'))!
				.split(';')[0]!;
			expect((await fetch(`${server.url}/training/jobs`, { headers: { cookie } })).status).toBe(200);

			const again = await rawRequest(server.url, 'POST', '/setup', {
				headers: { origin: server.url, 'content-type': FORM, 'x-sveltekit-action': 'true' },
				body: form({ code, username: 'eve', password: 'eve password 1234', confirm: 'eve password 1234' })
			});
			expect(JSON.parse(again.body)).toMatchObject({ type: 'failure', status: 403 });
			expect(await (await fetch(`${server.url}/setup?code=${code}`)).text()).toContain('Vapor is set up');
			await signIn(server.url, { username: 'ada', password: 'ada password 1234' });
		});
	});
});

describe('modes', () => {
	it('VAPOR_AUTH=off is open, and says so at every start', async () => {
		await withServer({ VAPOR_AUTH: 'off' }, async (server) => {
			expect(server.output()).toMatch(/VAPOR_AUTH=off: anyone who can reach this server/);
			expect((await fetch(`${server.url}/training/jobs`)).status).toBe(200);
			expect((await fetch(`${server.url}/api/training/jobs`)).status).toBe(200);
			// Still no cross-site writes, and API writes still need a token.
			const foreign = await rawRequest(server.url, 'POST', '/training/jobs/new', {
				headers: { origin: 'http://evil.example', 'content-type': FORM },
				body: form({ name: 'x', baseModel: 'resnet-18', dataset: 'mnist' })
			});
			expect(foreign.status).toBe(403);
			expect((await rawRequest(server.url, 'POST', '/api/training/jobs', { body: '{}' })).status).toBe(401);
		});
	});

	it('VAPOR_PUBLIC_READ=1 lets anyone read, while writes need an identity', async () => {
		await withServer({ VAPOR_PUBLIC_READ: '1' }, async (server) => {
			expect((await fetch(`${server.url}/api/training/jobs`)).status).toBe(200);
			expect((await fetch(`${server.url}/training/jobs`)).status).toBe(200);
			expect((await fetch(`${server.url}/settings`, { redirect: 'manual' })).status).toBe(303);
			const write = await rawRequest(server.url, 'POST', '/api/training/jobs', {
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ name: 'x', baseModel: 'resnet-18', dataset: 'mnist' })
			});
			expect(write.status).toBe(401);
		});
	});

	it('VAPOR_AUTH=proxy trusts the user header only from VAPOR_TRUSTED_PROXIES, creating users as VAPOR_AUTH_PROXY_ROLE', async () => {
		const proxy = {
			VAPOR_AUTH: 'proxy',
			VAPOR_AUTH_PROXY_HEADER: 'X-Forwarded-User',
			VAPOR_TRUSTED_PROXIES: '127.0.0.1,::1'
		};
		await withServer(proxy, async (server) => {
			const asUser = { 'x-forwarded-user': 'grace' };
			expect((await fetch(`${server.url}/api/training/jobs`, { headers: asUser })).status).toBe(200);
			expect(await (await fetch(`${server.url}/training/jobs`, { headers: asUser })).text()).toContain('grace');
			expect((await fetch(`${server.url}/api/training/jobs`)).status).toBe(401);
			// New proxy users are viewers by default: they read, and cannot write.
			const start = await rawRequest(server.url, 'POST', '/training/jobs/new', {
				headers: { ...asUser, origin: server.url, 'content-type': FORM },
				body: form({ name: 'x', baseModel: 'resnet-18', dataset: 'mnist' })
			});
			expect(start.status).toBe(403);
		});
		await withServer({ ...proxy, VAPOR_TRUSTED_PROXIES: '10.0.0.1' }, async (server) => {
			const spoofed = await fetch(`${server.url}/api/training/jobs`, { headers: { 'x-forwarded-user': 'admin' } });
			expect(spoofed.status).toBe(401);
			expect(server.output()).toMatch(/not in VAPOR_TRUSTED_PROXIES/);
		});
	});

	it('refuses the removed VAPOR_READ_TOKEN_REQUIRED with a message saying what replaced it', async () => {
		await expect(startServer({ VAPOR_READ_TOKEN_REQUIRED: '1' })).rejects.toThrow(/VAPOR_READ_TOKEN_REQUIRED is gone/);
	});
});

describe('while the database is away', () => {
	let cluster: PostgresCluster;

	beforeAll(async () => {
		// Its own cluster: stopping the shared one would disturb the other test files.
		cluster = await startPostgresCluster();
	});
	afterAll(() => cluster?.stop());

	it('dashboard pages and form actions answer 503 with a page that says so', async () => {
		for (const env of [{}, { VAPOR_AUTH: 'off' }] as Record<string, string>[]) {
			const server = await startServer({ DATABASE_URL: cluster.url, ...env });
			try {
				const session = env.VAPOR_AUTH ? undefined : await signIn(server.url);
				const cookie = session ? `${session.name}=${session.value}` : '';
				cluster.stopServerOnly();
				const page = await rawRequest(server.url, 'GET', '/training/jobs', {
					headers: { cookie, accept: 'text/html' }
				});
				expect(page.status, JSON.stringify(env)).toBe(503);
				expect(page.body).toMatch(/database is not reachable/);
				const action = await rawRequest(server.url, 'POST', '/training/jobs/new', {
					headers: { cookie, origin: server.url, 'content-type': FORM, accept: 'text/html' },
					body: form({
						name: 'x',
						baseModel: 'resnet-18',
						dataset: 'mnist',
						epochs: '1',
						learningRate: '0.001',
						batchSize: '8'
					})
				});
				expect(action.status, JSON.stringify(env)).toBe(503);
				expect(action.body).toMatch(/database is not reachable/);
				expect(server.output()).not.toMatch(/unhandled error/);
			} finally {
				cluster.startServerOnly();
				await server.stop();
			}
		}
	});
});

describe('VAPOR_ADMIN_USERNAME + VAPOR_ADMIN_PASSWORD', () => {
	it('reset the admin password at start, ending its sessions; the bootstrap token belongs to it', async () => {
		const store = await createTestStore('pglite');
		try {
			let server = await startServer(store.env);
			const old = await signIn(server.url);
			await server.stop();
			server = await startServer(
				{ ...store.env, VAPOR_ADMIN_PASSWORD: 'a different password 99' },
				{ port: server.port }
			);
			try {
				expect(server.output()).toMatch(/reset the admin from VAPOR_ADMIN_USERNAME/);
				const oldCookie = `${old.name}=${old.value}`;
				expect((await fetch(`${server.url}/api/training/jobs`, { headers: { cookie: oldCookie } })).status).toBe(401);
				const fresh = await signIn(server.url, { username: 'admin', password: 'a different password 99' });
				const settings = await (
					await fetch(`${server.url}/settings`, { headers: { cookie: `${fresh.name}=${fresh.value}` } })
				).text();
				expect(settings).toMatch(/VAPOR_BOOTSTRAP_TOKEN[\s\S]*?<td class="owner[^"]*">admin<\/td>/);
				expect((await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).status).toBe(200);
			} finally {
				await server.stop();
			}
		} finally {
			await store.dispose();
		}
	});
});
