import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/lib/server/db/migrate';
import { JobEvents } from '../../src/lib/server/events/job-events';
import type { JobEvent } from '../../src/lib/server/events/event-bus';
import { createValidJob, getJob } from '../../src/lib/server/jobs/jobs.service';
import { cloneJob, startJob, stopJob } from '../../src/lib/server/jobs/transitions';
import { listPoints } from '../support/points';
import { Simulator } from '../../src/lib/server/simulator/simulator';
import { HttpError } from '../../src/lib/server/errors';
import type { NewJob } from '../../src/lib/training/job-input';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../support/databases';
import { waitFor } from '../support/wait';

const config: NewJob = {
	source: 'simulated',
	name: 'sim',
	baseModel: 'bert-base',
	dataset: 'imdb',
	epochs: 1,
	stepsPerEpoch: 100,
	learningRate: 3e-4,
	batchSize: 32
};

describe.each(BACKENDS)('simulator and transitions (%s)', (backend) => {
	let handle: TestDatabase;
	let events: JobEvents;
	let published: JobEvent[];

	beforeAll(async () => {
		handle = await openTestDatabase(backend);
	});
	beforeEach(async () => {
		await handle.reset();
		await migrateToLatest(handle.db);
		events = new JobEvents();
		published = [];
		events.bus.subscribe('*', (event) => published.push(event));
	});
	afterAll(async () => {
		await handle?.dispose();
	});

	const create = (overrides: Partial<NewJob> = {}) => createValidJob(handle.db, events, { ...config, ...overrides });
	const rejection = async (promise: Promise<unknown>) => {
		const error = await promise.then(
			() => undefined,
			(e: unknown) => e
		);
		expect(error).toBeInstanceOf(HttpError);
		return error as HttpError;
	};

	it('starts a queued job, stops a running one, and refuses every other transition with 409', async () => {
		const job = await create();
		expect((await rejection(stopJob(handle.db, events, job.id))).message).toMatch(
			/is queued. Only a running job can be stopped/
		);
		expect((await rejection(cloneJob(handle.db, events, job.id))).status).toBe(409);

		const started = await startJob(handle.db, events, job.id);
		expect(started.status).toBe('running');
		expect(started.startedAt).not.toBeNull();
		const again = await rejection(startJob(handle.db, events, job.id));
		expect(again.status).toBe(409);
		expect(again.message).toMatch(/is running. Only a queued job can be started/);

		const stopped = await stopJob(handle.db, events, job.id);
		expect(stopped).toMatchObject({ status: 'stopped' });
		expect(stopped.finishedAt).not.toBeNull();
		expect((await rejection(startJob(handle.db, events, job.id))).status).toBe(409);
		expect((await rejection(stopJob(handle.db, events, job.id))).status).toBe(409);

		expect(published.filter((e) => e.type === 'status').map((e) => e.type === 'status' && e.job.status)).toEqual([
			'queued',
			'running',
			'stopped'
		]);
	});

	it('answers 404 for a job that does not exist', async () => {
		const missing = '00000000-0000-4000-8000-000000000000';
		for (const operation of [startJob, stopJob, cloneJob]) {
			expect((await rejection(operation(handle.db, events, missing))).status).toBe(404);
		}
	});

	it('lets exactly one of two racing starts, and of two racing stops, win', async () => {
		const job = await create();
		const starts = await Promise.allSettled([startJob(handle.db, events, job.id), startJob(handle.db, events, job.id)]);
		expect(starts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
		expect(
			starts.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.status)
		).toEqual([409]);

		const stops = await Promise.allSettled([stopJob(handle.db, events, job.id), stopJob(handle.db, events, job.id)]);
		expect(stops.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
	});

	it('runs a finished job again as a new queued job with the same configuration', async () => {
		const job = await create({ epochs: 2, learningRate: 0.01, batchSize: 8 });
		await startJob(handle.db, events, job.id);
		await stopJob(handle.db, events, job.id);
		const clone = await cloneJob(handle.db, events, job.id);
		expect(clone.id).not.toBe(job.id);
		expect(clone).toMatchObject({
			status: 'queued',
			epochs: 2,
			learningRate: 0.01,
			batchSize: 8,
			name: job.name,
			currentStep: 0
		});
	});

	it('advances only running jobs, one step per tick, and completes at exactly the last step', async () => {
		const running = await create();
		const queued = await create();
		await startJob(handle.db, events, running.id);
		const simulator = new Simulator(handle.db, events, undefined, { stepMs: 1 });

		for (let tick = 1; tick <= 99; tick++) expect(await simulator.tick()).toEqual({ points: 1, finished: 0 });
		expect((await getJob(handle.db, running.id)).status).toBe('running');
		expect(await simulator.tick()).toEqual({ points: 1, finished: 1 });
		expect(await simulator.tick()).toEqual({ points: 0, finished: 0 });

		const done = await getJob(handle.db, running.id);
		expect(done).toMatchObject({ status: 'completed', currentStep: 100, totalSteps: 100 });
		expect(done.finishedAt).not.toBeNull();
		expect((await listPoints(handle.db, running.id)).map((p) => p.step)).toEqual(
			Array.from({ length: 100 }, (_, i) => i + 1)
		);
		expect((await getJob(handle.db, queued.id)).currentStep).toBe(0);

		const pointEvents = published.filter((e) => e.type === 'rows');
		expect(pointEvents.flatMap((e) => (e.type === 'rows' ? e.rows.map((r) => r.step) : []))).toHaveLength(100);
		expect(published.at(-1)).toMatchObject({ type: 'status', job: { status: 'completed' } });
	});

	it('fails a diverging job with a reason a person understands', async () => {
		const job = await create({ learningRate: 0.8 });
		await startJob(handle.db, events, job.id);
		const simulator = new Simulator(handle.db, events, undefined, { stepMs: 1 });
		let ticks = 0;
		while ((await simulator.tick()).finished === 0) expect(++ticks).toBeLessThan(100);

		const failed = await getJob(handle.db, job.id);
		expect(failed.status).toBe('failed');
		expect(failed.error).toBe(
			`Loss diverged (NaN) at step ${failed.currentStep + 1}: learning rate 0.8 is too high (runs diverge above 0.1).`
		);
	});

	it('writes no point for a job stopped before the tick commits', async () => {
		const job = await create();
		await startJob(handle.db, events, job.id);
		const simulator = new Simulator(handle.db, events, undefined, { stepMs: 1 });
		await simulator.tick();
		await stopJob(handle.db, events, job.id);
		expect(await simulator.tick()).toEqual({ points: 0, finished: 0 });
		expect((await getJob(handle.db, job.id)).currentStep).toBe(1);
	});

	it('survives a database error mid-run, retrying with no step skipped', async () => {
		const job = await create();
		await startJob(handle.db, events, job.id);
		const simulator = new Simulator(handle.db, events, undefined, { stepMs: 2, maxBackoffMs: 20 });
		simulator.start();
		try {
			await waitFor(async () => (await getJob(handle.db, job.id)).currentStep >= 10);
			// Every tick fails while the table is away.
			await sql`alter table metric_rows rename to metric_rows_away`.execute(handle.db);
			await new Promise((resolve) => setTimeout(resolve, 100));
			await sql`alter table metric_rows_away rename to metric_rows`.execute(handle.db);
			await waitFor(async () => (await getJob(handle.db, job.id)).status === 'completed', 20_000);
		} finally {
			await simulator.stop();
		}
		expect((await listPoints(handle.db, job.id)).map((p) => p.step)).toEqual(
			Array.from({ length: 100 }, (_, i) => i + 1)
		);
	});
});
