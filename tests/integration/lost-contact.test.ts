import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { authorization, startServer, type RunningServer } from '../support/server';
import { readStream } from '../support/sse-client';

const LOST = 'lost contact with the training script';
const LOST_AFTER_S = 3;

describe.each(BACKENDS)('heartbeats and lost contact of external jobs (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer({ ...store.env, VAPOR_LOST_AFTER_S: String(LOST_AFTER_S) });
		api = apiClient(server.url);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const heartbeat = (id: string) =>
		fetch(`${server.url}/api/training/jobs/${id}/heartbeat`, { method: 'POST', headers: authorization() });
	const runningExternalJob = async (name: string) => {
		const job = await api.createJob({ name, source: 'external', stepsPerEpoch: 100 });
		await api.postPoints(job.id, [{ step: 1, loss: 0.9 }]);
		return job;
	};

	it('a silent running job fails with "lost contact", announced on the feed; a late point revives it', async () => {
		const job = await runningExternalJob('goes silent');
		const feed = readStream(`${server.url}/api/training/stream`, {
			timeoutMs: 30_000,
			stopWhen: (stream) => stream.raw.includes(LOST)
		});
		await expect.poll(async () => (await api.getJob(job.id)).status, { timeout: 20_000 }).toBe('failed');
		expect(await api.getJob(job.id)).toMatchObject({ error: LOST, finishedAt: expect.any(String) });
		// The all-jobs feed (whose status events make the toasts) carried the failure.
		expect((await feed).raw).toContain(LOST);

		const result = await api.postPoints(job.id, [{ step: 2, loss: 0.8 }]);
		expect(result).toMatchObject({ accepted: 1, status: 'running' });
		expect(await api.getJob(job.id)).toMatchObject({
			status: 'running',
			error: null,
			finishedAt: null,
			currentStep: 2
		});
	});

	it('heartbeats keep a job running without points, and revive one given up as lost', async () => {
		const alive = await runningExternalJob('heartbeats');
		const silent = await runningExternalJob('silent beside it');
		// Beats every half second while the other job goes silent and is failed.
		const beating = setInterval(() => void heartbeat(alive.id), 500);
		try {
			await expect.poll(async () => (await api.getJob(silent.id)).status, { timeout: 20_000 }).toBe('failed');
			// The silent one was failed after LOST_AFTER_S; the beating one, as old, is still running.
			expect((await api.getJob(alive.id)).status).toBe('running');
		} finally {
			clearInterval(beating);
		}
		const revived = await heartbeat(silent.id);
		expect(revived.status).toBe(200);
		expect(await revived.json()).toEqual({ status: 'running' });
		expect(await api.getJob(silent.id)).toMatchObject({ status: 'running', error: null });
	});

	it('takes the word of a script that finishes a job given up as lost (it was alive after all)', async () => {
		const quiet = await runningExternalJob('long evaluation, then done');
		await expect.poll(async () => (await api.getJob(quiet.id)).status, { timeout: 20_000 }).toBe('failed');
		const finished = await api.finish(quiet.id, { status: 'completed' });
		expect(finished).toMatchObject({ status: 'completed', error: null });
		// Once it has ended by its own word, the end stands: another is a 409 as for any finished job.
		const again = await fetch(`${server.url}/api/training/jobs/${quiet.id}/finish`, {
			method: 'POST',
			headers: { ...authorization(), 'content-type': 'application/json' },
			body: JSON.stringify({ status: 'failed', error: 'late' })
		});
		expect(again.status).toBe(409);
	});

	it('leaves finished, queued and simulated jobs alone; answers 404 and 409 in words', async () => {
		const done = await runningExternalJob('finished');
		await api.finish(done.id, { status: 'completed' });
		const queued = await api.createJob({ name: 'never started', source: 'external' });
		const failedByScript = await runningExternalJob('failed by its script');
		await api.finish(failedByScript.id, { status: 'failed', error: 'OOM' });
		// A later silent job being failed shows the sweep has run over these too.
		const probe = await runningExternalJob('probe');
		await expect.poll(async () => (await api.getJob(probe.id)).status, { timeout: 20_000 }).toBe('failed');
		expect((await api.getJob(done.id)).status).toBe('completed');
		expect((await api.getJob(queued.id)).status).toBe('queued');
		// A heartbeat does not revive a job its script failed on purpose.
		expect(await (await heartbeat(failedByScript.id)).json()).toEqual({ status: 'failed' });
		expect(await api.getJob(failedByScript.id)).toMatchObject({ status: 'failed', error: 'OOM' });

		const missing = await heartbeat('00000000-0000-4000-8000-000000000000');
		expect(missing.status).toBe(404);
		expect(((await missing.json()) as { error: string }).error).toMatch(/No job has the id/);
		const simulated = await api.createJob({ name: 'simulated', epochs: 1 });
		const refused = await heartbeat(simulated.id);
		expect(refused.status).toBe(409);
		expect(((await refused.json()) as { error: string }).error).toMatch(/simulated job/);
		const noToken = await fetch(`${server.url}/api/training/jobs/${simulated.id}/heartbeat`, { method: 'POST' });
		expect(noToken.status).toBe(401);
	});
});
