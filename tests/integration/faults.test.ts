import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client';
import { postgresProcesses, startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster';
import { authorization, startServer, type RunningServer } from '../support/server';
import { waitFor } from '../support/wait';

/**
 * Faults that used to wedge, starve or stall the server (issue 17), on the built server
 * and a Postgres cluster of this file's own (it is frozen and restarted here).
 */
describe('faults on Postgres', () => {
	let cluster: PostgresCluster;
	let sql: postgres.Sql;
	let server: RunningServer;

	beforeAll(async () => {
		cluster = await startPostgresCluster();
		sql = postgres(cluster.url, { max: 2, onnotice: () => {} });
		server = await startServer({
			DATABASE_URL: cluster.url,
			VAPOR_SIM_STEP_MS: '50',
			VAPOR_DB_TIMEOUT_MS: '2000'
		});
	}, 120_000);
	afterAll(async () => {
		await server?.kill();
		await sql?.end({ timeout: 1 });
		cluster?.stop();
	});

	const lastStep = async (jobId: string) =>
		(await sql<{ last: number | null }[]>`select max(step) as last from metrics where job_id = ${jobId}`)[0]!.last ?? 0;
	const timed = async (url: string) => {
		const started = performance.now();
		const response = await fetch(url, { signal: AbortSignal.timeout(20_000) });
		await response.arrayBuffer();
		return { status: response.status, ms: performance.now() - started };
	};

	it('keeps training and /healthz honest while every request connection waits on a lock', async () => {
		const api = apiClient(server.url);
		const simulated = await api.createJob({ name: 'keeps training', epochs: 1000 });
		await api.start(simulated.id);
		const external = await api.createJob({
			name: 'locked',
			source: 'external',
			baseModel: 'script',
			dataset: 'iris',
			stepsPerEpoch: 10
		});
		await waitFor(async () => (await lastStep(simulated.id)) > 0, 10_000, 'the simulator to start');

		// Hold the external job's row: every ingest request for it waits on the lock while
		// holding a request connection, far more of them than the request pool has.
		const holder = await sql.reserve();
		await holder`begin`;
		await holder`select id from jobs where id = ${external.id} for update`;
		// The same point each time: one is stored, the rest are duplicates (never out of order).
		const slow = Array.from({ length: 40 }, () =>
			fetch(`${server.url}/api/training/jobs/${external.id}/metrics`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...authorization() },
				body: JSON.stringify([{ step: 1, loss: 1 }]),
				signal: AbortSignal.timeout(30_000)
			}).then(
				(response) => response.status,
				(error: Error) => error.message
			)
		);
		try {
			await waitFor(
				async () =>
					Number(
						(
							await sql<{ n: string }[]>`
								select count(*) as n from pg_stat_activity
								where application_name = 'vapor' and wait_event_type = 'Lock'`
						)[0]!.n
					) >= 10,
				10_000,
				'the request pool to be taken by requests waiting on the lock'
			);
			const before = await lastStep(simulated.id);
			const health = await timed(`${server.url}/healthz`);
			await expect.poll(() => lastStep(simulated.id), { timeout: 5_000 }).toBeGreaterThanOrEqual(before + 20);
			expect(health.status).toBe(200);
		} finally {
			await holder`rollback`;
			holder.release();
		}
		// Requests that waited longer than the deadline were told so; none failed otherwise.
		for (const status of await Promise.all(slow)) expect([200, 201, 503]).toContain(status);
	}, 60_000);

	it('answers 503 within seconds while the database is frozen, and recovers after', async () => {
		const jobs = `${server.url}/api/training/jobs`;
		expect((await timed(jobs)).status).toBe(200);
		const pids = postgresProcesses(cluster.dataDir);
		for (const pid of pids) process.kill(pid, 'SIGSTOP');
		let during: { status: number; ms: number }[];
		try {
			during = await Promise.all([timed(jobs), timed(jobs), timed(`${server.url}/healthz`)]);
		} finally {
			for (const pid of pids) process.kill(pid, 'SIGCONT');
		}
		for (const answer of during) {
			expect(answer.status).toBe(503);
			// VAPOR_DB_TIMEOUT_MS is 2 s here: a connection's wait and a statement's wait.
			expect(answer.ms).toBeLessThan(6_000);
		}
		await expect.poll(async () => (await timed(jobs)).status, { timeout: 15_000 }).toBe(200);
		expect((await timed(`${server.url}/healthz`)).status).toBe(200);
	}, 60_000);
});

describe('shutdown', () => {
	let cluster: PostgresCluster;

	beforeAll(async () => {
		cluster = await startPostgresCluster();
	}, 60_000);
	afterAll(() => cluster?.stop());

	it('stops in under a second with no work in flight', async () => {
		const server = await startServer({ DATABASE_URL: cluster.url, VAPOR_SIM_STEP_MS: '50' });
		// A running job: ticks are in flight all the time, and the leases are released on stop.
		const api = apiClient(server.url);
		const job = await api.createJob({ name: 'running at shutdown', epochs: 1000 });
		await api.start(job.id);
		await waitFor(async () => (await api.getJob(job.id)).currentStep > 0, 10_000, 'a first step');
		const started = performance.now();
		await server.stop();
		const ms = performance.now() - started;
		expect(server.output()).not.toContain('could not close the database');
		expect(ms).toBeLessThan(1_000);
	}, 60_000);
});
