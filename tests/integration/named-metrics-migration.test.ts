import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateTo, migrateToLatest } from '../../src/lib/server/db/migrate';
import { migrations } from '../../migrations';
import { readKeyCurve } from '../../src/lib/server/metrics/curve.service';
import { listKeys } from '../../src/lib/server/metrics/metrics.repository';
import { blockAlignedGrid, M4Accumulator } from '../../src/lib/training/downsample';
import { BLOCK_STEPS } from '../../src/lib/server/metrics/metric-key-blocks.repository';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../support/databases';

const BEFORE = '2026-11-29T0400_job-leases';
const STEPS = 1_300;

interface OldPoint {
	job_id: string;
	step: number;
	epoch: number;
	loss: number;
	accuracy: number | null;
	recorded_at: string;
}

/** Today's schema with data: two jobs in the old `metrics` table, one with a NaN loss and missing accuracies. */
async function seedOldSchema(db: TestDatabase['db']): Promise<string[]> {
	const { rows } = await sql<{ id: string }>`
		insert into jobs (name, base_model, dataset, epochs, learning_rate, batch_size, seed, status)
		values ('long', 'bert-base', 'imdb', 13, 0.001, 32, 1, 'completed'),
			('external', 'x', 'y', 1, 0.001, 32, 2, 'failed')
		returning id`.execute(db);
	const [long, external] = rows.map((r) => r.id) as [string, string];
	await sql`
		insert into metrics (job_id, step, epoch, loss, accuracy, recorded_at)
		select ${long}::uuid, s, (s + 99) / 100, 2 + sin(s / 7.0) + (case when s = 777 then 5 else 0 end),
			0.5 + cos(s / 11.0) / 3, timestamptz '2026-11-29T00:00:00Z' + s * interval '1 second'
		from generate_series(1, ${STEPS}) s`.execute(db);
	await sql`
		insert into metrics (job_id, step, epoch, loss, accuracy, recorded_at) values
			(${external}, 1, 1, 1.5, null, '2026-11-29T01:00:00Z'),
			(${external}, 5, 1, 1.25, 0.4, '2026-11-29T01:00:05Z'),
			(${external}, 9, 1, 'NaN', null, '2026-11-29T01:00:09Z')`.execute(db);
	return [long, external];
}

const oldPoints = async (db: TestDatabase['db']) =>
	(
		await sql<OldPoint>`select job_id, step, epoch, loss, accuracy, recorded_at::text from metrics order by job_id, step`.execute(
			db
		)
	).rows;

describe.each(BACKENDS)('named-metrics migration (%s)', (backend) => {
	let handle: TestDatabase;

	beforeAll(async () => {
		handle = await openTestDatabase(backend);
	});
	beforeEach(async () => {
		await handle.reset();
		await migrateTo(handle.db, BEFORE);
	});
	afterAll(async () => {
		await handle?.dispose();
	});

	it('moves every point to the keys loss and accuracy, with summaries, positions and block roll-ups', async () => {
		const [long, external] = await seedOldSchema(handle.db);
		await migrateToLatest(handle.db);

		const keys = await listKeys(handle.db, long);
		expect(keys.map((k) => [k.key, k.count, k.firstStep, k.lastStep])).toEqual([
			['loss', STEPS, 1, STEPS],
			['accuracy', STEPS, 1, STEPS]
		]);
		expect(keys[0]!.max).toBeCloseTo(2 + Math.sin(777 / 7) + 5, 10);
		const externalKeys = await listKeys(handle.db, external);
		expect(externalKeys.map((k) => [k.key, k.count, k.lastStep, k.lastValue, k.lastNonFinite])).toEqual([
			['loss', 3, 9, null, 'NaN'],
			['accuracy', 1, 5, 0.4, undefined]
		]);
		// min and max skip the NaN
		expect([externalKeys[0]!.min, externalKeys[0]!.max]).toEqual([1.25, 1.5]);

		const { rows: jobs } = await sql<{ id: string; primary_metric: string; metric_position: number }>`
			select id, primary_metric, metric_position from jobs order by name`.execute(handle.db);
		expect(jobs.map((j) => [j.primary_metric, j.metric_position])).toEqual([
			['loss', 9],
			['loss', STEPS]
		]);
		const { rows: blocks } = await sql<{ n: number }>`
			select count(*)::int as n from metric_key_blocks where job_id = ${long}`.execute(handle.db);
		// 1,300 steps: blocks 0 … 4 of 256 steps are complete (block 5 holds the last step), per key.
		expect(blocks[0]!.n).toBe(10);

		// The migrated roll-ups give exactly M4 over every row.
		const raw = await readKeyCurve(handle.db, long, 'loss', 100_000);
		expect(raw).toHaveLength(STEPS);
		const fromBlocks = await readKeyCurve(handle.db, long, 'loss', 8);
		const m4 = new M4Accumulator(blockAlignedGrid(1, STEPS, 2, BLOCK_STEPS));
		for (const v of raw) m4.add({ step: v.step, loss: v.value!, accuracy: null });
		const expected = m4.points.map((v) => v.step);
		expect(fromBlocks.map((v) => v.step)).toEqual(expected);
	});

	it('goes down to the old table with the same points, and up again', async () => {
		await seedOldSchema(handle.db);
		const before = await oldPoints(handle.db);
		await migrateToLatest(handle.db);
		// Later migrations undo first; this one is the last to go.
		const names = Object.keys(migrations).sort();
		const undone = await migrateTo(handle.db, names[names.indexOf('2026-12-01T0200_named-metrics') - 1]!);
		expect(undone.at(-1)).toBe('Down 2026-12-01T0200_named-metrics');
		const after = await oldPoints(handle.db);
		expect(after).toHaveLength(before.length);
		expect(after.map((p) => [p.step, p.epoch, p.accuracy, p.recorded_at])).toEqual(
			before.map((p) => [p.step, p.epoch, p.accuracy, p.recorded_at])
		);
		expect(after.map((p) => p.loss)).toEqual(before.map((p) => p.loss));
		await migrateToLatest(handle.db);
		expect((await sql<{ n: number }>`select count(*)::int as n from metric_rows`.execute(handle.db)).rows[0]!.n).toBe(
			before.length
		);
	});
});
