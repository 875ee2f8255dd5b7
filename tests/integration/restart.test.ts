import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, stepsUpTo } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster';
import { authorization, startServer } from '../support/server';
import { waitFor } from '../support/wait';

describe.each(BACKENDS)('a server killed mid-run (%s)', (backend) => {
	let store: TestStore;

	beforeAll(async () => {
		store = await createTestStore(backend);
	});
	afterAll(async () => {
		await store?.dispose();
	});

	it('continues every running job from its last committed step after SIGKILL and a restart', async () => {
		const env = { ...store.env, VAPOR_SIM_STEP_MS: '10' };
		const first = await startServer(env);
		const api = apiClient(first.url);
		const jobs = await Promise.all([api.createJob({ name: 'a', epochs: 3 }), api.createJob({ name: 'b', epochs: 2 })]);
		for (const job of jobs) await api.start(job.id);
		await waitFor(async () => (await api.getJob(jobs[0]!.id)).currentStep >= 40, 20_000, 'progress before the kill');
		await first.kill();
		expect(first.process.signalCode).toBe('SIGKILL');

		const second = await startServer(env);
		try {
			const again = apiClient(second.url);
			const resumedAt = (await again.getJob(jobs[0]!.id)).currentStep;
			expect(resumedAt).toBeGreaterThanOrEqual(40);
			expect(resumedAt).toBeLessThan(300);
			for (const job of jobs) {
				await waitFor(
					async () => (await again.getJob(job.id)).status === 'completed',
					30_000,
					`${job.name} to complete`
				);
				const steps = (await again.allPoints(job.id)).map((p) => p.step);
				expect(steps).toEqual(stepsUpTo(job.totalSteps));
			}
		} finally {
			await second.stop();
		}
	});
});

describe('the embedded database', () => {
	it('refuses a second process on the same data folder, with a message that says what to do', async () => {
		// An empty folder: PGlite's own first start (initdb), which the other tests skip.
		const store = await createTestStore('pglite', { empty: true });
		const first = await startServer(store.env);
		try {
			await expect(startServer(store.env)).rejects.toThrow(
				/Another Vapor process \(pid \d+\) is using the embedded database/
			);
			expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
		} finally {
			await first.stop();
		}
		// It stopped cleanly: the database closed once, with no warning, and released the folder.
		expect(first.output()).toContain('"message":"stopped"');
		expect(first.output()).not.toContain('shutdown: could not');
		const second = await startServer(store.env);
		await second.stop();
		await store.dispose();
	});
});

describe('a Postgres restart mid-run', () => {
	let cluster: PostgresCluster;

	beforeAll(async () => {
		// Its own cluster: restarting the shared one would disturb the other test files.
		cluster = await startPostgresCluster();
	});
	afterAll(() => cluster?.stop());

	it('pauses the simulator, reports 503 health while away, and resumes with no step lost', async () => {
		const server = await startServer({ DATABASE_URL: cluster.url, VAPOR_SIM_STEP_MS: '10' });
		try {
			const api = apiClient(server.url);
			const job = await api.createJob({ name: 'through a restart', epochs: 4 });
			await api.start(job.id);
			await waitFor(async () => (await api.getJob(job.id)).currentStep >= 30, 20_000);

			cluster.restart();
			await waitFor(
				async () => (await api.getJob(job.id).catch(() => null))?.status === 'completed',
				30_000,
				() => `the job to complete; server said:\n${server.output().slice(-4000)}`
			);
			expect((await api.allPoints(job.id)).map((p) => p.step)).toEqual(stepsUpTo(400));
			expect(server.process.exitCode).toBeNull();
			expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
		} finally {
			await server.stop();
		}
	});

	it('answers /healthz with 503 while the database is down', async () => {
		const server = await startServer({ DATABASE_URL: cluster.url });
		try {
			cluster.stopServerOnly();
			const response = await fetch(`${server.url}/healthz`);
			expect(response.status).toBe(503);
			expect(await response.json()).toMatchObject({ ok: false, database: 'down' });
			const jobs = await fetch(`${server.url}/api/training/jobs`, { headers: authorization() });
			expect(jobs.status).toBe(503);
			expect((await jobs.json()).error).toMatch(/database is not reachable/);
		} finally {
			cluster.startServerOnly();
			await server.stop();
		}
	});
});
