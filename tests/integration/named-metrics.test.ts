import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/lib/server/db/migrate';
import { HttpError } from '../../src/lib/server/errors';
import { JobEvents } from '../../src/lib/server/events/job-events';
import type { JobEvent } from '../../src/lib/server/events/event-bus';
import { ingestPoints } from '../../src/lib/server/ingest/ingest.service';
import { createValidJob, getJob } from '../../src/lib/server/jobs/jobs.service';
import { startJob } from '../../src/lib/server/jobs/transitions';
import { BlockRollups } from '../../src/lib/server/metrics/block-rollups';
import { readCurve, readKeyCurve } from '../../src/lib/server/metrics/curve.service';
import { BLOCK_STEPS } from '../../src/lib/server/metrics/metric-key-blocks.repository';
import { listKeys } from '../../src/lib/server/metrics/metrics.repository';
import { summarizeKeys } from '../../src/lib/server/metrics/metric-key-summaries.repository';
import { commitMetrics, type BatchRow } from '../../src/lib/server/metrics/metrics.writer';
import { Simulator } from '../../src/lib/server/simulator/simulator';
import { blockAlignedGrid, evenGrid, M4Accumulator, type ColumnGrid } from '../../src/lib/training/downsample';
import type { NewJob } from '../../src/lib/training/job-input';
import type { MetricValue } from '../../src/lib/training/metrics';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../support/databases';

const external: NewJob = {
	source: 'external',
	name: 'script',
	baseModel: 'bert-base',
	dataset: 'imdb',
	epochs: 10,
	stepsPerEpoch: 100,
	learningRate: 3e-4,
	batchSize: 32,
	primaryMetric: 'train/loss'
};

/** M4 in JavaScript over every value, on the same grid: what the database must answer. */
function m4(values: readonly MetricValue[], grid: ColumnGrid): number[] {
	const accumulator = new M4Accumulator(grid);
	// A non-finite value is never an extreme (NaN compares false); it can be a first or last.
	for (const v of values) accumulator.add({ step: v.step, loss: v.value ?? Number.NaN, accuracy: null });
	return accumulator.points.map((p) => p.step);
}

async function refusal(attempt: Promise<unknown>): Promise<{ status: number; message: string }> {
	try {
		await attempt;
	} catch (caught) {
		if (caught instanceof HttpError) return { status: caught.status, message: caught.message };
		throw caught;
	}
	throw new Error('expected a refusal');
}

describe.each(BACKENDS)('named metrics (%s)', (backend) => {
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

	const ingest = (jobId: string, body: unknown) => ingestPoints(handle.db, events, undefined, jobId, body);

	it('takes any key with its own steps, in points and rows, idempotently', async () => {
		const job = await createValidJob(handle.db, events, external);
		const first = await ingest(job.id, [
			{ step: 1, metrics: { 'train/loss': 2.0, lr: 1e-4, 'train/accuracy': 0.1 } },
			{ step: 2, key: 'train/loss', value: 1.8 },
			{ step: 100, key: 'val/loss', value: 2.2 },
			{ step: 100, key: 'train/loss', value: 1.1 }
		]);
		expect(first).toEqual({ accepted: 6, duplicates: 0, lastStep: 100, status: 'running' });

		// The same (key, step, value) again: accepted, not written twice.
		expect(await ingest(job.id, [{ step: 2, key: 'train/loss', value: 1.8 }])).toMatchObject({
			accepted: 0,
			duplicates: 1
		});
		// Another value at a stored step: 409 naming key and step; nothing of the request is written.
		const other = await refusal(
			ingest(job.id, [
				{ step: 2, key: 'train/loss', value: 1.9 },
				{ step: 101, key: 'lr', value: 1 }
			])
		);
		expect(other.status).toBe(409);
		expect(other.message).toMatch(/"train\/loss" at step 2 is already stored with another value/);
		// A step below the key's last stored step that was never stored: 409.
		const below = await refusal(ingest(job.id, [{ step: 50, key: 'train/loss', value: 1 }]));
		expect(below.status).toBe(409);
		expect(below.message).toMatch(/"train\/loss" at step 50 is not after its last stored step \(100\)/);
		// A key's steps are its own: lr, last at 1, takes 5.
		expect(await ingest(job.id, [{ step: 5, key: 'lr', value: 2e-4 }])).toMatchObject({ accepted: 1 });

		const keys = await listKeys(handle.db, job.id);
		expect(keys.map((k) => [k.key, k.count, k.firstStep, k.lastStep, k.lastValue, k.min, k.max])).toEqual([
			['train/loss', 3, 1, 100, 1.1, 1.1, 2.0],
			['lr', 2, 1, 5, 2e-4, 1e-4, 2e-4],
			['train/accuracy', 1, 1, 1, 0.1, 0.1, 0.1],
			['val/loss', 1, 100, 100, 2.2, 2.2, 2.2]
		]);
		// Today's view: the primary metric as loss, its companion as accuracy.
		expect(await getJob(handle.db, job.id)).toMatchObject({
			currentStep: 100,
			latestLoss: 1.1,
			latestAccuracy: 0.1,
			primaryMetric: 'train/loss'
		});
		expect((await readCurve(handle.db, job, 100)).map((p) => [p.step, p.loss, p.accuracy])).toEqual([
			[1, 2.0, 0.1],
			[2, 1.8, null],
			[100, 1.1, null]
		]);
	});

	it('keeps summaries exact whether the rows after them are folded in or not, and folds each row once', async () => {
		const job = await createValidJob(handle.db, events, external);
		const summary = async () =>
			(await listKeys(handle.db, job.id)).map((k) => [
				k.key,
				k.count,
				k.firstStep,
				k.lastStep,
				k.lastValue,
				k.min,
				k.max
			]);
		const stored = async () =>
			(
				await sql<{ key: string; count: number; summary_position: number }>`
					select key, count, summary_position from metric_keys where job_id = ${job.id} order by key_no`.execute(handle.db)
			).rows;
		await ingest(job.id, [
			{ step: 1, metrics: { 'train/loss': 2, lr: 5 } },
			{ step: 2, metrics: { 'train/loss': 3 } }
		]);
		const first = [
			['train/loss', 2, 1, 2, 3, 2, 3],
			['lr', 1, 1, 1, 5, 5, 5]
		];
		expect(await summary()).toEqual(first);
		// The write statement left the stored summaries alone: readers added the rows.
		expect(await stored()).toEqual([
			{ key: 'train/loss', count: 0, summary_position: 0 },
			{ key: 'lr', count: 0, summary_position: 0 }
		]);

		// Two folds at once (two instances): each row is counted once.
		await Promise.all([summarizeKeys(handle.db, job.id), summarizeKeys(handle.db, job.id)]);
		expect(await stored()).toEqual([
			{ key: 'train/loss', count: 2, summary_position: 2 },
			{ key: 'lr', count: 1, summary_position: 2 }
		]);
		expect(await summary()).toEqual(first);

		// After a fold: a new key, and values whose checks need the summary and the rows after it.
		await ingest(job.id, [{ step: 3, metrics: { 'train/loss': 0.5, 'val/loss': 7 } }]);
		expect(await summary()).toEqual([
			['train/loss', 3, 1, 3, 0.5, 0.5, 3],
			['lr', 1, 1, 1, 5, 5, 5],
			['val/loss', 1, 3, 3, 7, 7, 7]
		]);
		expect(await ingest(job.id, [{ step: 3, key: 'train/loss', value: 0.5 }])).toMatchObject({ duplicates: 1 });
		expect((await refusal(ingest(job.id, [{ step: 3, key: 'train/loss', value: 0.6 }]))).message).toMatch(
			/"train\/loss" at step 3 is already stored with another value/
		);
		expect((await refusal(ingest(job.id, [{ step: 2, key: 'val/loss', value: 1 }]))).message).toMatch(
			/"val\/loss" at step 2 is not after its last stored step \(3\)/
		);
		// lr's last step (1) is in its summary: 2 is new for lr, though not for the job.
		expect(await ingest(job.id, [{ step: 2, key: 'lr', value: 4 }])).toMatchObject({ accepted: 1, lastStep: 3 });
		expect(await getJob(handle.db, job.id)).toMatchObject({ currentStep: 3, latestLoss: 0.5 });
		await summarizeKeys(handle.db, job.id);
		expect(await summary()).toEqual([
			['train/loss', 3, 1, 3, 0.5, 0.5, 3],
			['lr', 2, 1, 2, 4, 4, 5],
			['val/loss', 1, 3, 3, 7, 7, 7]
		]);
	});

	it("keeps today's { step, loss, accuracy } points as the keys loss and accuracy", async () => {
		const job = await createValidJob(handle.db, events, { ...external, primaryMetric: undefined });
		expect(job.primaryMetric).toBe('loss');
		await ingest(job.id, [
			{ step: 1, loss: 1.5, accuracy: 0.2 },
			{ step: 2, loss: 1.25 }
		]);
		expect((await listKeys(handle.db, job.id)).map((k) => [k.key, k.count])).toEqual([
			['loss', 2],
			['accuracy', 1]
		]);
		expect(await getJob(handle.db, job.id)).toMatchObject({ latestLoss: 1.25, latestAccuracy: 0.2, currentStep: 2 });
	});

	it('a job made without a primary metric takes the loss key of its first values when they have no loss', async () => {
		const primaryOf = async (id: string) => (await getJob(handle.db, id))!.primaryMetric;
		const job = await createValidJob(handle.db, events, { ...external, primaryMetric: undefined });
		await ingest(job.id, [{ step: 1, metrics: { lr: 0.001, 'train/loss': 2.5, 'val/loss': 2.7 } }]);
		expect(await primaryOf(job.id)).toBe('train/loss');
		// Open pages learn it with the job's status (here queued → running).
		const status = published.filter((e) => e.type === 'status' && e.jobId === job.id).at(-1);
		expect(status?.type === 'status' && status.job.primaryMetric).toBe('train/loss');
		expect(await getJob(handle.db, job.id)).toMatchObject({ latestLoss: 2.5, currentStep: 1 });
		// Later values never move it again, whatever they hold.
		await ingest(job.id, [{ step: 2, metrics: { loss: 9, 'eval/loss': 2 } }]);
		expect(await primaryOf(job.id)).toBe('train/loss');

		// First values with loss, or with no loss key at all, or a primary metric chosen at creation: kept.
		const withLoss = await createValidJob(handle.db, events, { ...external, primaryMetric: undefined });
		await ingest(withLoss.id, [{ step: 1, metrics: { loss: 1, 'train/loss': 2 } }]);
		expect(await primaryOf(withLoss.id)).toBe('loss');
		const noLoss = await createValidJob(handle.db, events, { ...external, primaryMetric: undefined });
		await ingest(noLoss.id, [{ step: 1, metrics: { lr: 0.1, accuracy: 0.5 } }]);
		expect(await primaryOf(noLoss.id)).toBe('loss');
		const chosen = await createValidJob(handle.db, events, { ...external, primaryMetric: 'val/accuracy' });
		await ingest(chosen.id, [{ step: 1, metrics: { 'train/loss': 2 } }]);
		expect(await primaryOf(chosen.id)).toBe('val/accuracy');
	});

	it('stores non-finite values as gaps; a flagged NaN of the primary metric fails the run', async () => {
		const job = await createValidJob(handle.db, events, external);
		await ingest(job.id, [
			{ step: 1, metrics: { 'train/loss': 1, grad_norm: 'Infinity' } },
			{ step: 2, key: 'val/loss', value: 'NaN' }
		]);
		expect((await getJob(handle.db, job.id)).status).toBe('running');
		const gradNorm = (await listKeys(handle.db, job.id)).find((k) => k.key === 'grad_norm')!;
		expect(gradNorm).toMatchObject({ lastValue: null, lastNonFinite: 'Infinity', min: null, max: null });
		expect(await readKeyCurve(handle.db, job.id, 'grad_norm', 10)).toMatchObject([
			{ step: 1, value: null, nonFinite: 'Infinity' }
		]);
		// Unflagged, a NaN of the primary metric is only a gap…
		await ingest(job.id, [{ step: 3, key: 'train/loss', value: 'NaN' }]);
		expect((await getJob(handle.db, job.id)).status).toBe('running');
		// …flagged, it fails the run, with the key and step in the reason.
		const result = await ingest(job.id, [{ step: 4, key: 'train/loss', value: 'NaN', nonFinite: true }]);
		expect(result.status).toBe('failed');
		expect((await getJob(handle.db, job.id)).error).toMatch(/train\/loss = NaN at step 4/);
		// A retry of the signal is accepted; new values are refused.
		expect(await ingest(job.id, [{ step: 4, key: 'train/loss', value: 'NaN', nonFinite: true }])).toMatchObject({
			duplicates: 1,
			status: 'failed'
		});
		expect((await refusal(ingest(job.id, [{ step: 5, key: 'train/loss', value: 1 }]))).status).toBe(409);
	});

	it('takes at most 1,000 keys per job', async () => {
		const job = await createValidJob(handle.db, events, external);
		const metrics = Object.fromEntries(Array.from({ length: 999 }, (_, i) => [`k/${i}`, i]));
		await ingest(job.id, [{ step: 1, metrics }]);
		const refused = await refusal(ingest(job.id, [{ step: 2, metrics: { a: 1, b: 2 } }]));
		expect(refused.status).toBe(409);
		expect(refused.message).toMatch(/at most 1,000 metric keys; this request would make 1,001/);
		expect(await ingest(job.id, [{ step: 2, metrics: { a: 1 } }])).toMatchObject({ accepted: 1 });
		expect(await listKeys(handle.db, job.id)).toHaveLength(1_000);
	});

	it('numbers rows in commit order, whatever their steps, and publishes each once', async () => {
		const job = await createValidJob(handle.db, events, external);
		await ingest(job.id, [{ step: 501, key: 'train/loss', value: 1 }]);
		await ingest(job.id, [{ step: 500, key: 'val/loss', value: 2 }]);
		const rows = published.flatMap((e) => (e.type === 'rows' ? e.rows : []));
		expect(rows.map((r) => [r.position, r.step, Object.keys(r.values)])).toEqual([
			[1, 501, ['train/loss']],
			[2, 500, ['val/loss']]
		]);
	});

	it('draws a long key from block extremes exactly as M4 over every row, per key and per range', async () => {
		const job = await createValidJob(handle.db, events, external);
		const steps = 5 * BLOCK_STEPS + 77;
		const rows: BatchRow[] = [];
		for (let step = 1; step <= steps; step++) {
			const values: Record<string, number> = { 'train/loss': 2 / Math.sqrt(step) + 0.01 * Math.sin(step * 0.7) };
			if (step === 700) values['train/loss'] = 9; // a spike
			if (step === 900) values['train/loss'] = Number.NaN; // a gap
			if (step % 10 === 0) values['val/loss'] = 3 / Math.sqrt(step) + 0.02 * Math.cos(step);
			rows.push({ jobId: job.id, step, epoch: Math.ceil(step / 100), values });
		}
		const rollups = new BlockRollups(handle.db);
		for (let i = 0; i < rows.length; i += 500) {
			const outcome = await commitMetrics(handle.db, 'test', { kind: 'locked' }, rows.slice(i, i + 500));
			for (const [jobId, committed] of outcome.rows) rollups.rowsCommitted(jobId, committed);
		}
		await rollups.idle();
		const { rows: blocks } = await sql<{ key_no: number; n: number }>`
			select key_no, count(*)::int as n from metric_key_blocks where job_id = ${job.id}
			group by key_no order by key_no`.execute(handle.db);
		expect(blocks).toEqual([
			{ key_no: 0, n: 5 },
			{ key_no: 1, n: 5 }
		]);

		for (const key of ['train/loss', 'val/loss']) {
			const every = await readKeyCurve(handle.db, job.id, key, 10_000);
			for (const [from, to] of [
				[1, steps],
				[300, 1_200],
				[257, 1_023]
			] as const) {
				const inRange = every.filter((v) => v.step >= from && v.step <= to);
				const lo = inRange[0]!.step;
				const hi = inRange.at(-1)!.step;
				// 8 points: 2 block-wide columns (from the stored blocks); 400: 100 columns, too many
				// for block-wide ones, so even columns over the rows.
				for (const [maxPoints, grid] of [
					[8, blockAlignedGrid(lo, hi, 2, BLOCK_STEPS)],
					[400, evenGrid(lo, hi, 100)]
				] as const) {
					const read = await readKeyCurve(handle.db, job.id, key, maxPoints, from, to);
					expect(
						read.map((v) => v.step),
						`${key} ${from}-${to} at ${maxPoints}`
					).toEqual(m4(inRange, grid));
					expect(read.length).toBeLessThanOrEqual(maxPoints);
				}
			}
		}
		// The spike survives any zoom.
		expect((await readKeyCurve(handle.db, job.id, 'train/loss', 8)).some((v) => v.value === 9)).toBe(true);
	});

	it('simulates realistic runs: train/*, lr, grad_norm, throughput and GPU every step, val/* every 100', async () => {
		const job = await createValidJob(handle.db, events, {
			...external,
			source: 'simulated',
			primaryMetric: undefined
		});
		expect(job.primaryMetric).toBe('train/loss');
		await startJob(handle.db, events, job.id);
		const simulator = new Simulator(handle.db, events, undefined, { stepMs: 1 });
		for (let tick = 0; tick < 200; tick++) await simulator.tick();
		const keys = await listKeys(handle.db, job.id);
		expect(Object.fromEntries(keys.map((k) => [k.key, [k.count, k.firstStep, k.lastStep]]))).toEqual({
			'train/loss': [200, 1, 200],
			'train/accuracy': [200, 1, 200],
			lr: [200, 1, 200],
			grad_norm: [200, 1, 200],
			'throughput/samples_per_s': [200, 1, 200],
			'system/gpu.0.util': [200, 1, 200],
			'system/gpu.0.memory_gb': [200, 1, 200],
			'val/loss': [2, 100, 200],
			'val/accuracy': [2, 100, 200]
		});
		const lr = await readKeyCurve(handle.db, job.id, 'lr', 1_000);
		// Warm-up over the first 5 % of the run (50 of 1,000 steps), then decay.
		expect(lr[9]!.value!).toBeLessThan(lr[49]!.value!);
		expect(lr[199]!.value!).toBeLessThan(lr[49]!.value!);
		const train = await readKeyCurve(handle.db, job.id, 'train/loss', 1_000);
		const val = await readKeyCurve(handle.db, job.id, 'val/loss', 1_000);
		expect(val[1]!.value!).toBeGreaterThan(train[199]!.value!);
		const util = keys.find((k) => k.key === 'system/gpu.0.util')!;
		expect(util.min!).toBeGreaterThanOrEqual(0);
		expect(util.max!).toBeLessThanOrEqual(100);
		const current = await getJob(handle.db, job.id);
		expect(current).toMatchObject({ currentStep: 200, latestLoss: train[199]!.value });
	});
});
