import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { authorization, startServer, type RunningServer } from '../support/server';

describe.each(BACKENDS)('runs API on the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer(store.env);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const call = (method: string, path: string, body?: unknown) =>
		fetch(`${server.url}${path}`, {
			method,
			headers: { 'content-type': 'application/json', ...authorization() },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
	const create = async (fields: Record<string, unknown>) => {
		const response = await call('POST', '/api/training/jobs', { baseModel: 'bert-base', dataset: 'imdb', ...fields });
		expect(response.status, await response.clone().text()).toBe(201);
		return (await response.json()).job as { id: string; name: string; config: Record<string, unknown> };
	};
	const list = async (query: string) => {
		const response = await fetch(`${server.url}/api/training/jobs?${query}`, { headers: authorization() });
		expect(response.status, await response.clone().text()).toBe(200);
		return (await response.json()) as { jobs: { name: string; config?: unknown }[]; nextCursor?: string };
	};

	it('creates a job with config, tags and a note, and lists config only when asked', async () => {
		const job = await create({ name: 'api run', config: { optimizer: { lr: 0.01 } }, tags: ['api'], note: 'a\nb' });
		expect(job).toMatchObject({
			config: { optimizer: { lr: 0.01 }, baseModel: 'bert-base', epochs: 3 },
			tags: ['api'],
			note: 'a\nb',
			archivedAt: null
		});
		const plain = await list('q=tag:api');
		expect(plain.jobs.map((j) => j.name)).toEqual(['api run']);
		expect(plain.jobs[0]!.config).toBeUndefined();
		expect(plain.nextCursor).toBeUndefined();
		expect((await list('q=config.optimizer.lr>0.001&fields=config')).jobs[0]!.config).toMatchObject({
			optimizer: { lr: 0.01 }
		});
	});

	it('answers every bad list parameter with a 400 that names it', async () => {
		for (const [query, param] of [
			['limit=1000', 'limit'],
			['sort=loss', 'sort'],
			['status=paused', 'status'],
			['cursor=nope', 'cursor'],
			['q=config.lr>high', 'q'],
			['offset=10', 'offset']
		]) {
			const response = await fetch(`${server.url}/api/training/jobs?${query}`, { headers: authorization() });
			expect(response.status, query).toBe(400);
			const answer = await response.json();
			expect(answer.fields, query).toHaveProperty(param!);
			expect(answer.error, query).toContain(param);
		}
	});

	it('pages with nextCursor, absent on the last page', async () => {
		for (let i = 0; i < 3; i++) await create({ name: `paged ${i}`, tags: ['paged'] });
		const first = await list('tag=paged&limit=2');
		expect(first.jobs.map((j) => j.name)).toEqual(['paged 2', 'paged 1']);
		const second = await list(`tag=paged&limit=2&cursor=${first.nextCursor}`);
		expect(second.jobs.map((j) => j.name)).toEqual(['paged 0']);
		expect(second).not.toHaveProperty('nextCursor');
	});

	it('patches tags, note, archived and config; a changed config key is a 409 naming it', async () => {
		const job = await create({ name: 'patched', config: { seed: 1 } });
		const patched = await call('PATCH', `/api/training/jobs/${job.id}`, {
			tags: ['x'],
			note: 'hello',
			archived: true,
			config: { warmup: 5 }
		});
		expect(patched.status).toBe(200);
		expect((await patched.json()).job).toMatchObject({ tags: ['x'], note: 'hello', config: { seed: 1, warmup: 5 } });
		expect((await list('q=patched')).jobs).toEqual([]);
		expect((await list('q=patched&archived=only')).jobs).toHaveLength(1);

		const conflict = await call('PATCH', `/api/training/jobs/${job.id}`, { config: { seed: 2 } });
		expect(conflict.status).toBe(409);
		expect((await conflict.json()).error).toContain('config.seed');
		const bad = await call('PATCH', `/api/training/jobs/${job.id}`, { note: 'x'.repeat(10_001) });
		expect(bad.status).toBe(400);
		expect((await bad.json()).fields).toHaveProperty('note');
		const unauthenticated = await fetch(`${server.url}/api/training/jobs/${job.id}`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ note: 'x' })
		});
		expect(unauthenticated.status).toBe(401);
	});

	it('deletes a finished job with 202, refuses a running one with 409, and the job is gone at once', async () => {
		const job = await create({ name: 'to delete', source: 'external', stepsPerEpoch: 10 });
		const points = Array.from({ length: 50 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1), accuracy: i / 50 }));
		expect((await call('POST', `/api/training/jobs/${job.id}/metrics`, points)).status).toBe(200);
		const refused = await call('DELETE', `/api/training/jobs/${job.id}`);
		expect(refused.status).toBe(409);
		expect((await refused.json()).error).toMatch(/is running: stop it first/);

		await call('POST', `/api/training/jobs/${job.id}/finish`, { status: 'completed' });
		const accepted = await call('DELETE', `/api/training/jobs/${job.id}`);
		expect(accepted.status).toBe(202);
		// Every value of every key: 50 steps of loss and accuracy.
		expect((await accepted.json()).deleting).toMatchObject({ id: job.id, name: 'to delete', points: 100 });
		expect((await fetch(`${server.url}/api/training/jobs/${job.id}`, { headers: authorization() })).status).toBe(404);
		expect((await list('q="to delete"')).jobs).toEqual([]);
		await expect
			.poll(async () => (await call('DELETE', `/api/training/jobs/${job.id}`)).status, { timeout: 20_000 })
			.toBe(404);
	});
});
