import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Many requests per test, and sign-ins run scrypt: slow on a shared two-core machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });
import { apiClient } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { rawRequest } from '../support/raw-http';
import { authorization, signIn, startServer, TEST_ADMIN, type RunningServer } from '../support/server';
import type { Job } from '../../src/lib/training/job';

/**
 * The probe of issue #11, re-run against the built server: every spelling of every
 * write and read, with and without credentials, and each time both the status and
 * the database checked.
 */
const spellings = (path: string) => {
	const [, first, ...rest] = path.split('/');
	const tail = rest.join('/');
	return [
		path,
		`/%61${first!.slice(1)}/${tail}`,
		`/${first!.slice(0, -1)}%${first!.charCodeAt(first!.length - 1).toString(16)}/${tail}`,
		`/${[...first!].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}/${tail}`,
		`/${first!.toUpperCase()}/${tail}`,
		`/${first![0]!.toUpperCase()}${first!.slice(1)}/${tail.replace(/^./, (c) => c.toUpperCase())}`,
		`/${path}`,
		`/${first}//${tail}`,
		`/./${first}/${tail}`,
		`/x/../${first}/${tail}`,
		`${path}/`,
		`/${first}%2f${tail.replaceAll('/', '%2f')}`,
		`/${first}/${tail.replace('/', '%2F')}`,
		`${path}%00`,
		`${path};x=1`
	];
};

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = 'application/x-www-form-urlencoded';

describe.each(BACKENDS)('the door on the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;
	let admin: string;
	let job: Job;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer(store.env);
		api = apiClient(server.url);
		job = await api.createJob({ name: 'the probe target', baseModel: 'resnet-18', dataset: 'mnist', epochs: 1 });
		const cookie = await signIn(server.url);
		admin = `${cookie.name}=${cookie.value}`;
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	/** Everything a write could change, read with the admin's token. */
	const fingerprint = async () => {
		const { jobs } = (await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json()) as {
			jobs: Job[];
		};
		const settings = await (await fetch(`${server.url}/settings`, { headers: { cookie: admin } })).text();
		return JSON.stringify({
			jobs: jobs.map((j) => [j.id, j.status, j.currentStep]),
			tokens: settings.match(/data-token-id="[^"]+"/g)?.length ?? 0,
			users: settings.match(/data-user="[^"]+"/g)?.length ?? 0
		});
	};

	const writes = () => [
		['/api/training/jobs', JSON.stringify({ name: 'x', baseModel: 'resnet-18', dataset: 'mnist' })],
		[`/api/training/jobs/${job.id}/start`, ''],
		[`/api/training/jobs/${job.id}/stop`, ''],
		[`/api/training/jobs/${job.id}/clone`, ''],
		[`/api/training/jobs/${job.id}/metrics`, JSON.stringify([{ step: 1, loss: 1 }])],
		[`/api/training/jobs/${job.id}/finish`, JSON.stringify({ status: 'completed' })]
	];

	it('refuses every spelling of every API write without credentials, and nothing changes', async () => {
		const before = await fingerprint();
		for (const [path, body] of writes()) {
			for (const spelling of spellings(path!)) {
				const answer = await rawRequest(server.url, 'POST', spelling, {
					headers: { 'content-type': 'application/json' },
					body
				});
				expect([400, 401, 404, 405, 308], `POST ${spelling}`).toContain(answer.status);
			}
		}
		expect(await fingerprint()).toBe(before);
	});

	it('refuses every spelling of the form actions without a session, and nothing changes', async () => {
		const before = await fingerprint();
		const actions = [
			['/settings', '?/create', form({ name: 'minted', scope: 'write' })],
			['/settings', '?/addUser', form({ username: 'mallory', password: 'a password long enough', role: 'admin' })],
			[`/training/jobs/${job.id}`, '?/start', ''],
			['/training/jobs/new', '', form({ name: 'x', baseModel: 'resnet-18', dataset: 'mnist' })]
		];
		for (const [path, action, body] of actions) {
			for (const spelling of spellings(path!)) {
				const answer = await rawRequest(server.url, 'POST', spelling + action, {
					headers: { 'content-type': FORM, origin: server.url },
					body
				});
				expect([401, 403, 404, 405, 308], `POST ${spelling}${action}`).toContain(answer.status);
			}
		}
		expect(await fingerprint()).toBe(before);
	});

	it('refuses every spelling of every read without credentials, and leaks nothing', async () => {
		const reads = [
			'/api/training/jobs',
			`/api/training/jobs/${job.id}`,
			`/api/training/jobs/${job.id}/metrics`,
			`/api/training/jobs/${job.id}/metrics.csv`,
			`/api/training/jobs/${job.id}/metrics.json`,
			`/api/training/jobs/${job.id}/metrics/keys`,
			`/api/training/jobs/${job.id}/metrics/range?key=loss&fromStep=1&toStep=10&width=100`,
			`/api/training/jobs/${job.id}/stream`,
			'/api/2.0/mlflow/runs/get?run_id=' + job.id,
			'/api/training/stream',
			`/training/jobs/${job.id}/__data.json`,
			'/training/jobs/__data.json',
			'/settings/__data.json'
		];
		for (const path of reads) {
			for (const spelling of spellings(path)) {
				const answer = await rawRequest(server.url, 'GET', spelling);
				expect(answer.body, `GET ${spelling}`).not.toContain('the probe target');
				expect(answer.body, `GET ${spelling}`).not.toContain('VAPOR_BOOTSTRAP_TOKEN');
				if (answer.status === 200) expect(answer.body, `GET ${spelling}`).toMatch(/"type":"redirect"/);
			}
		}
	});

	it('with the token, a spelling either reaches the same route or none: never a different one', async () => {
		for (const spelling of spellings(`/api/training/jobs/${job.id}`)) {
			const answer = await rawRequest(server.url, 'GET', spelling, { headers: authorization() });
			if (answer.status === 200) expect(JSON.parse(answer.body).job.id).toBe(job.id);
			else expect([404, 308, 400], `GET ${spelling}`).toContain(answer.status);
		}
		const before = await fingerprint();
		const created: string[] = [];
		for (const spelling of spellings('/api/training/jobs')) {
			const answer = await rawRequest(server.url, 'POST', spelling, {
				headers: { 'content-type': 'application/json', ...authorization() },
				body: JSON.stringify({ name: `spelled ${spelling}`, baseModel: 'resnet-18', dataset: 'mnist' })
			});
			if (answer.status === 201) created.push(JSON.parse(answer.body).job.id);
			else expect([404, 405, 308], `POST ${spelling}`).toContain(answer.status);
		}
		const jobs = (await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json()) as {
			jobs: Job[];
		};
		expect(jobs.jobs.length).toBe(JSON.parse(before).jobs.length + created.length);
	});

	it('refuses writes from a foreign page, bodiless or not, with a token or a session', async () => {
		const before = await fingerprint();
		const evil = { origin: 'http://evil.example' };
		expect((await rawRequest(server.url, 'POST', `/api/training/jobs/${job.id}/start`, { headers: evil })).status).toBe(
			403
		);
		const withToken = await rawRequest(server.url, 'POST', `/api/training/jobs/${job.id}/start`, {
			headers: { ...evil, ...authorization() }
		});
		expect(withToken.status).toBe(403);
		expect(JSON.parse(withToken.body).error).toMatch(/Cross-site request refused/);
		for (const action of [`/training/jobs/${job.id}?/start`, '/settings?/create']) {
			const foreign = await rawRequest(server.url, 'POST', action, {
				headers: { ...evil, cookie: admin, 'content-type': FORM },
				body: form({ name: 'csrf' })
			});
			expect(foreign.status, action).toBe(403);
			const noOrigin = await rawRequest(server.url, 'POST', action, {
				headers: { cookie: admin, 'content-type': FORM },
				body: form({ name: 'csrf' })
			});
			expect(noOrigin.status, action).toBe(403);
		}
		// A session cookie is never enough for an API write, even from our own page.
		const cookieWrite = await rawRequest(server.url, 'POST', `/api/training/jobs/${job.id}/start`, {
			headers: { origin: server.url, cookie: admin }
		});
		expect(cookieWrite.status).toBe(401);
		expect(JSON.parse(cookieWrite.body).error).toMatch(/cannot change anything through the API/);
		expect(await fingerprint()).toBe(before);
	});

	it('works on http at whatever address it is reached by, with no ORIGIN', async () => {
		for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `192.168.1.20:${server.port}`]) {
			const answer = await rawRequest(server.url, 'POST', '/settings?/create', {
				headers: { host, origin: `http://${host}`, cookie: admin, 'content-type': FORM, 'x-sveltekit-action': 'true' },
				body: form({ name: `from ${host}`, scope: 'read' })
			});
			expect(answer.status, host).toBe(200);
			expect(JSON.parse(answer.body).type, host).toBe('success');
		}
	});

	it('reads with the session cookie, including event streams', async () => {
		const list = await fetch(`${server.url}/api/training/jobs`, { headers: { cookie: admin } });
		expect(list.status).toBe(200);
		const controller = new AbortController();
		const stream = await fetch(`${server.url}/api/training/jobs/${job.id}/stream`, {
			headers: { cookie: admin },
			signal: controller.signal
		});
		expect(stream.status).toBe(200);
		expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
		controller.abort();
	});

	it('gives each role what it may do: viewers read, editors write, tokens no more than their owner', async () => {
		const addUser = (username: string, role: string) =>
			rawRequest(server.url, 'POST', '/settings?/addUser', {
				headers: { origin: server.url, cookie: admin, 'content-type': FORM, 'x-sveltekit-action': 'true' },
				body: form({ username, role, password: `${username} password 1234` })
			});
		expect(JSON.parse((await addUser('vera', 'viewer')).body).type).toBe('success');
		expect(JSON.parse((await addUser('eddie', 'editor')).body).type).toBe('success');
		const cookieOf = async (username: string) => {
			const c = await signIn(server.url, { username, password: `${username} password 1234` });
			return `${c.name}=${c.value}`;
		};
		const vera = await cookieOf('vera');
		const eddie = await cookieOf('eddie');
		const act = (cookie: string, path: string, body = '') =>
			rawRequest(server.url, 'POST', path, {
				headers: { origin: server.url, cookie, 'content-type': FORM, 'x-sveltekit-action': 'true' },
				body
			});

		const queued = await api.createJob({ name: 'role check', baseModel: 'resnet-18', dataset: 'mnist', epochs: 1 });
		expect((await act(vera, `/training/jobs/${queued.id}?/start`)).status).toBe(403);
		expect((await api.getJob(queued.id)).status).toBe('queued');
		expect((await fetch(`${server.url}/training/jobs/${queued.id}`, { headers: { cookie: vera } })).status).toBe(200);
		expect((await act(eddie, `/training/jobs/${queued.id}?/start`)).status).toBe(200);
		expect((await api.getJob(queued.id)).status).toBe('running');
		await api.stop(queued.id);

		// Users are the admin's: an editor cannot add one.
		const sneaky = JSON.parse((await act(eddie, '/settings?/addUser', form({ username: 'x', role: 'admin' }))).body);
		expect(sneaky.type).toBe('failure');
		expect(sneaky.data).toMatch(/Only an admin may manage users/);

		// A viewer makes read tokens only; a token does what its scope and its owner allow.
		const refusedWrite = JSON.parse(
			(await act(vera, '/settings?/create', form({ name: 'vera w', scope: 'write' }))).body
		);
		expect(refusedWrite.type).toBe('failure');
		const tokenOf = async (cookie: string, name: string, scope: string) => {
			const answer = JSON.parse((await act(cookie, '/settings?/create', form({ name, scope }))).body);
			expect(answer.type, name).toBe('success');
			return String(answer.data.match(/vpr_[\w-]{43}/)[0]);
		};
		const veraRead = await tokenOf(vera, 'vera r', 'read');
		const eddieWrite = await tokenOf(eddie, 'eddie w', 'write');
		const eddieRead = await tokenOf(eddie, 'eddie r', 'read');
		const createWith = (token: string) =>
			fetch(`${server.url}/api/training/jobs`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...authorization(token) },
				body: JSON.stringify({ name: 'by token', baseModel: 'resnet-18', dataset: 'mnist' })
			});
		expect((await fetch(`${server.url}/api/training/jobs`, { headers: authorization(veraRead) })).status).toBe(200);
		expect((await createWith(veraRead)).status).toBe(403);
		expect((await createWith(eddieRead)).status).toBe(403);
		expect((await createWith(eddieWrite)).status).toBe(201);

		// Demoted to viewer, the editor's write token can only read.
		const settings = await (await fetch(`${server.url}/settings`, { headers: { cookie: admin } })).text();
		const eddieId = /data-user="eddie"[\s\S]*?name="id" value="([^"]+)"/.exec(settings)![1]!;
		expect(JSON.parse((await act(admin, '/settings?/setRole', form({ id: eddieId, role: 'viewer' }))).body).type).toBe(
			'success'
		);
		expect((await createWith(eddieWrite)).status).toBe(403);

		// The audit log says who made which token, and from where.
		const audit = await (await fetch(`${server.url}/settings`, { headers: { cookie: admin } })).text();
		expect(audit).toMatch(/token created[\s\S]*?eddie w[\s\S]*?eddie[\s\S]*?127\.0\.0\.1/);
		expect(await (await fetch(`${server.url}/settings`, { headers: { cookie: vera } })).text()).not.toContain(
			'Token audit log'
		);
	});

	it('rotates the session at sign-in, ends it at sign-out and when the password changes', async () => {
		const first = await signIn(server.url);
		const firstCookie = `${first.name}=${first.value}`;
		// Signing in again from the same browser replaces the session.
		const again = await fetch(`${server.url}/sign-in`, {
			method: 'POST',
			redirect: 'manual',
			headers: { origin: server.url, cookie: firstCookie, 'content-type': FORM },
			body: form({ ...TEST_ADMIN, next: '/training/jobs' })
		});
		const second = again.headers
			.getSetCookie()
			.find((c) => c.startsWith(first.name))!
			.split(';')[0]!;
		expect(second).not.toBe(firstCookie);
		expect((await fetch(`${server.url}/api/training/jobs`, { headers: { cookie: firstCookie } })).status).toBe(401);
		expect((await fetch(`${server.url}/api/training/jobs`, { headers: { cookie: second } })).status).toBe(200);

		const out = await rawRequest(server.url, 'POST', '/sign-out', {
			headers: { origin: server.url, cookie: second, 'content-type': FORM, accept: 'text/html' }
		});
		expect(out.status).toBe(303);
		expect((await fetch(`${server.url}/api/training/jobs`, { headers: { cookie: second } })).status).toBe(401);

		const elsewhere = await signIn(server.url);
		const here = await signIn(server.url);
		const hereCookie = `${here.name}=${here.value}`;
		const change = (current: string, password: string) =>
			rawRequest(server.url, 'POST', '/account', {
				headers: { origin: server.url, cookie: hereCookie, 'content-type': FORM, 'x-sveltekit-action': 'true' },
				body: form({ current, password, confirm: password })
			});
		expect(JSON.parse((await change('wrong password', 'a new password 5678')).body).type).toBe('failure');
		const changed = await change(TEST_ADMIN.password, 'a new password 5678');
		expect(JSON.parse(changed.body).type).toBe('success');
		const elsewhereCookie = `${elsewhere.name}=${elsewhere.value}`;
		expect((await fetch(`${server.url}/api/training/jobs`, { headers: { cookie: elsewhereCookie } })).status).toBe(401);
		expect((await fetch(`${server.url}/api/training/jobs`, { headers: { cookie: hereCookie } })).status).toBe(401);
		const fresh = changed.headers['set-cookie']!.find((c) => c.startsWith(here.name))!.split(';')[0]!;
		expect((await fetch(`${server.url}/api/training/jobs`, { headers: { cookie: fresh } })).status).toBe(200);
		// Set back, for the tests after this one (and a restart resets it from the environment anyway).
		await rawRequest(server.url, 'POST', '/account', {
			headers: { origin: server.url, cookie: fresh, 'content-type': FORM },
			body: form({ current: 'a new password 5678', password: TEST_ADMIN.password, confirm: TEST_ADMIN.password })
		});
		admin = await signIn(server.url).then((c) => `${c.name}=${c.value}`);
	});

	it('sets the session cookie httpOnly and SameSite=Lax, and not Secure on plain http', async () => {
		const response = await fetch(`${server.url}/sign-in`, {
			method: 'POST',
			redirect: 'manual',
			headers: { origin: server.url, 'content-type': FORM },
			body: form({ ...TEST_ADMIN, next: '/' })
		});
		const cookie = response.headers.getSetCookie().find((c) => c.startsWith('vapor_session'))!;
		expect(cookie).toMatch(/HttpOnly/i);
		expect(cookie).toMatch(/SameSite=Lax/i);
		expect(cookie).not.toMatch(/Secure/i);
	});

	it('throttles failed sign-ins per account, with a clear message', async () => {
		const attempt = (password: string) =>
			rawRequest(server.url, 'POST', '/sign-in', {
				headers: { origin: server.url, 'content-type': FORM, 'x-sveltekit-action': 'true' },
				body: form({ username: 'vera', password })
			});
		for (let i = 0; i < 5; i++) expect(JSON.parse((await attempt('wrong')).body).status).toBe(400);
		const throttled = await attempt('vera password 1234');
		expect(JSON.parse(throttled.body)).toMatchObject({ type: 'failure', status: 429 });
		expect(throttled.body).toMatch(/Too many failed sign-ins. Wait 15 minutes/);
	});

	it('answers a request that resolves to no route with 404, writing nothing', async () => {
		const before = await fingerprint();
		for (const path of ['/api/nothing', '/training/jobs/new/extra', '/API/training/jobs']) {
			const answer = await rawRequest(server.url, 'POST', path, { headers: authorization() });
			expect(answer.status, path).toBe(404);
			expect(JSON.parse(answer.body).error).toMatch(/Nothing answers POST/);
		}
		// An encoded dot segment is refused before routing.
		expect(
			(await rawRequest(server.url, 'POST', '/%2e%2e/api/training/jobs', { headers: authorization() })).status
		).toBe(400);
		expect(await fingerprint()).toBe(before);
	});

	it('HEAD on a stream answers at once and holds no subscription', async () => {
		const running = await api.createJob({ name: 'watched', baseModel: 'resnet-18', dataset: 'mnist', epochs: 5 });
		await api.start(running.id);
		const subscribers = async () =>
			((await (await fetch(`${server.url}/healthz`)).json()) as { subscribers: number }).subscribers;
		const baseline = await subscribers();
		const heads = await Promise.all(
			Array.from({ length: 50 }, () =>
				rawRequest(server.url, 'HEAD', `/api/training/jobs/${running.id}/stream`, { headers: authorization() })
			)
		);
		expect(heads.every((h) => h.status === 200 && /text\/event-stream/.test(String(h.headers['content-type'])))).toBe(
			true
		);
		expect((await rawRequest(server.url, 'HEAD', '/api/training/stream', { headers: authorization() })).status).toBe(
			200
		);
		expect(await subscribers()).toBe(baseline);
		await api.stop(running.id);
	});

	it('answers NUL bytes, bidi controls and unstorable times with a 400 naming the field', async () => {
		const post = (path: string, body: unknown) =>
			fetch(`${server.url}${path}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...authorization() },
				body: JSON.stringify(body)
			});
		for (const [field, value] of [
			['name', 'a\u0000b'],
			['baseModel', 'x\u0000'],
			['dataset', 'y\u0000'],
			['name', 'invoice\u202etxt.exe']
		]) {
			const answer = await post('/api/training/jobs', { name: 'ok', source: 'external', [field!]: value });
			expect(answer.status, field).toBe(400);
			expect(Object.keys((await answer.json()).fields), field).toContain(field);
		}
		const external = await api.createJob({ name: 'times', source: 'external' });
		for (const recordedAt of ['0000-01-01T00:00:00Z', '2026-11-29T03:00:00+23:59', '9999-12-31T23:00:00-05:00']) {
			const answer = await post(`/api/training/jobs/${external.id}/metrics`, [{ step: 1, loss: 1, recordedAt }]);
			expect(answer.status, recordedAt).toBe(400);
			expect((await answer.json()).fields, recordedAt).toHaveProperty('[0].recordedAt');
		}
		expect((await api.getJob(external.id)).currentStep).toBe(0);
		const token = await rawRequest(server.url, 'POST', '/settings?/create', {
			headers: { origin: server.url, cookie: admin, 'content-type': FORM, 'x-sveltekit-action': 'true' },
			body: form({ name: 'bad\u0000name', scope: 'read' })
		});
		expect(JSON.parse(token.body)).toMatchObject({ type: 'failure', status: 400 });
	});

	it('answers a JSON body without Content-Type, and text/plain without Origin, in the usual JSON shape', async () => {
		const bare = await rawRequest(server.url, 'POST', '/api/training/jobs', {
			headers: authorization(),
			body: '{"name": "", "baseModel": "resnet-18", "dataset": "mnist"}'
		});
		expect(bare.status).toBe(400);
		expect(bare.headers['content-type']).toMatch(/^application\/json/);
		expect(JSON.parse(bare.body)).toMatchObject({ error: expect.any(String) });
		const plain = await rawRequest(server.url, 'POST', '/api/training/jobs', {
			headers: { 'content-type': 'text/plain', ...authorization() },
			body: 'not json'
		});
		expect(plain.status).toBe(400);
		expect(JSON.parse(plain.body).error).toMatch(/not valid JSON/);
		const plainNoToken = await rawRequest(server.url, 'POST', '/api/training/jobs', {
			headers: { 'content-type': 'text/plain' },
			body: '{}'
		});
		expect(plainNoToken.status).toBe(401);
		expect(JSON.parse(plainNoToken.body).error).toMatch(/needs a token/);
	});
});
