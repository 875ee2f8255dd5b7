import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/lib/server/db/migrate';
import { JobEvents } from '../../src/lib/server/events/job-events';
import { createValidJob } from '../../src/lib/server/jobs/jobs.service';
import { startJob } from '../../src/lib/server/jobs/transitions';
import { BlockRollups } from '../../src/lib/server/metrics/block-rollups';
import { readCurve } from '../../src/lib/server/metrics/curve.service';
import { BLOCK_STEPS, rollUpCompletedBlocks } from '../../src/lib/server/metrics/metric-blocks.repository';
import { listPoints } from '../../src/lib/server/metrics/metrics.repository';
import { Simulator } from '../../src/lib/server/simulator/simulator';
import { blockAlignedGrid, M4Accumulator } from '../../src/lib/training/downsample';
import type { MetricPoint } from '../../src/lib/training/job';
import type { NewJob } from '../../src/lib/training/job-input';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../support/databases';

const job: NewJob = {
	source: 'simulated',
	name: 'long run',
	baseModel: 'bert-base',
	dataset: 'imdb',
	epochs: 10,
	stepsPerEpoch: 100,
	learningRate: 3e-4,
	batchSize: 32
};

describe.each(BACKENDS)('long curves from stored block extremes (%s)', (backend) => {
	let handle: TestDatabase;
	let events: JobEvents;

	beforeAll(async () => {
		handle = await openTestDatabase(backend);
	});
	beforeEach(async () => {
		await handle.reset();
		await migrateToLatest(handle.db);
		events = new JobEvents();
	});
	afterAll(async () => {
		await handle?.dispose();
	});

	/** `count` points of a noisy decaying curve; `spikes` replaces the loss at some steps. */
	async function jobWithPoints(count: number, spikes: Record<number, number> = {}): Promise<string> {
		const { id } = await createValidJob(handle.db, events, job);
		await appendPoints(id, 1, count);
		for (const [step, loss] of Object.entries(spikes)) {
			await sql`update metrics set loss = ${loss} where job_id = ${id} and step = ${Number(step)}`.execute(handle.db);
		}
		return id;
	}

	async function appendPoints(jobId: string, from: number, to: number): Promise<void> {
		await sql`
			insert into metrics (job_id, step, epoch, loss, accuracy, recorded_at)
			select ${jobId}, s, (s - 1) / 100 + 1, 2 / sqrt(s) + 0.01 * sin(s * 0.7),
				case when s % 3 = 0 then null else 1 - 1 / sqrt(s) + 0.01 * cos(s * 1.3) end,
				'2026-11-29T00:00:00Z'::timestamptz + s * interval '1 second'
			from generate_series(${from}::integer, ${to}::integer) as s`.execute(handle.db);
	}

	/** M4 over every row, with the columns the server uses. */
	async function m4OverEveryPoint(jobId: string, maxPoints: number, afterStep: number): Promise<MetricPoint[]> {
		const all = await listPoints(handle.db, jobId, { afterStep, limit: 1_000_000 });
		const accumulator = new M4Accumulator<MetricPoint>(
			blockAlignedGrid(all[0]!.step, all.at(-1)!.step, Math.floor(maxPoints / 6), BLOCK_STEPS)
		);
		for (const point of all) accumulator.add(point);
		return accumulator.points;
	}

	it('draws exactly what M4 over every point draws, with all, some or none of the blocks stored', async () => {
		const id = await jobWithPoints(60_000, { 7_777: 40, 31_000: -3 });
		const blocks = () =>
			handle.db
				.selectFrom('metric_blocks')
				.select((eb) => eb.fn.countAll<number>().as('n'))
				.executeTakeFirstOrThrow();

		const expected = await m4OverEveryPoint(id, 1_000, 0);
		expect(expected.map((p) => p.loss)).toContain(40);
		expect(await readCurve(handle.db, id, 1_000)).toEqual(expected);

		// Blocks stored only up to step 30,000, as if the roll-up had fallen behind.
		await sql`delete from metrics where job_id = ${id} and step > 30000`.execute(handle.db);
		await rollUpCompletedBlocks(handle.db, id);
		await appendPoints(id, 30_001, 60_000);
		await sql`update metrics set loss = -3 where job_id = ${id} and step = 31000`.execute(handle.db);
		expect(Number((await blocks()).n)).toBe(Math.floor(30_000 / BLOCK_STEPS));
		for (const afterStep of [0, 255, 256, 12_345]) {
			expect(await readCurve(handle.db, id, 1_000, afterStep)).toEqual(await m4OverEveryPoint(id, 1_000, afterStep));
		}

		await rollUpCompletedBlocks(handle.db, id);
		await rollUpCompletedBlocks(handle.db, id);
		expect(Number((await blocks()).n)).toBe(Math.floor(60_000 / BLOCK_STEPS));
		const curve = await readCurve(handle.db, id, 1_000);
		expect(curve).toEqual(await m4OverEveryPoint(id, 1_000, 0));
		expect(curve.length).toBeLessThanOrEqual(1_000);
		expect(Math.min(...curve.map((p) => p.loss))).toBe(-3);
	});

	// A million rows take minutes to write and roll up in the embedded (WebAssembly) Postgres
	// on two busy cores; its run uses a fifth of them, which still needs the stored blocks.
	const millionOrFewer = backend === 'postgres' ? 1_000_000 : 200_000;

	it(`still draws a single spike among ${millionOrFewer} points`, async () => {
		const spikeAt = Math.round(millionOrFewer * 0.612345);
		const id = await jobWithPoints(millionOrFewer, { [spikeAt]: 50 });
		await rollUpCompletedBlocks(handle.db, id);
		const curve = await readCurve(handle.db, id, 1_000);
		expect(curve.length).toBeLessThanOrEqual(1_000);
		expect(curve.find((p) => p.loss === 50)?.step).toBe(spikeAt);
		expect(curve[0]!.step).toBe(1);
		expect(curve.at(-1)!.step).toBe(millionOrFewer);
	}, 180_000);

	it('is kept up to date by the simulator as blocks fill', async () => {
		const { id } = await createValidJob(handle.db, events, { ...job, epochs: 6 });
		await startJob(handle.db, events, id);
		const rollups = new BlockRollups(handle.db);
		const simulator = new Simulator(handle.db, events, rollups, { stepMs: 1 });
		for (let tick = 0; tick < 600; tick++) await simulator.tick();
		await rollups.idle();
		const stored = await handle.db.selectFrom('metric_blocks').select(['block', 'step']).orderBy('block').execute();
		// Steps 1..600: blocks 0 (1-255) and 1 (256-511) are complete; block 2 is still open.
		expect(stored.map((b) => b.block)).toEqual([0, 1]);
		expect(stored[1]!.step[0]).toBe(256);
		expect(stored[1]!.step.at(-1)).toBe(511);
	});
});
