import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateTo, migrateToLatest } from '../../src/lib/server/db/migrate';
import { JobEvents } from '../../src/lib/server/events/job-events';
import { ingestPoints } from '../../src/lib/server/ingest/ingest.service';
import { getJob } from '../../src/lib/server/jobs/jobs.service';
import { listKeys } from '../../src/lib/server/metrics/metrics.repository';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../support/databases';

const BEFORE = '2026-12-02T0100_mlflow-experiments';
const STEPS = 300;

interface StoredKey {
	key: string;
	count: number;
	first_step: number | null;
	last_step: number | null;
	last_value: number | null;
	min_value: number | null;
	max_value: number | null;
}

/**
 * The previous schema with data, as its write statement left it: summaries complete. An
 * external job with train/loss every step and val/loss every 100th.
 */
async function seedPreviousSchema(db: TestDatabase['db']): Promise<string> {
	const { rows } = await sql<{ id: string }>`
		insert into jobs (name, base_model, dataset, epochs, steps_per_epoch, learning_rate, batch_size, seed, status,
			source, primary_metric, metric_position, started_at)
		values ('script', 'bert-base', 'imdb', 10, 100, 0.001, 32, 1, 'running', 'external', 'train/loss', ${STEPS}, now())
		returning id`.execute(db);
	const id = rows[0]!.id;
	await sql`
		insert into metric_rows (job_id, position, step, epoch, keys, vals)
		select ${id}::uuid, s, s, (s + 99) / 100,
			case when s % 100 = 0 then '{0,1}'::smallint[] else '{0}'::smallint[] end,
			case when s % 100 = 0 then array[1.0::float8 / s, 2.0::float8 / s] else array[1.0::float8 / s] end
		from generate_series(1, ${STEPS}) s`.execute(db);
	await sql`
		insert into metric_keys (job_id, key_no, key, count, first_step, last_step, last_value, min_value, max_value)
		values (${id}::uuid, 0, 'train/loss', ${STEPS}, 1, ${STEPS}, ${1 / STEPS}, ${1 / STEPS}, 1),
			(${id}::uuid, 1, 'val/loss', 3, 100, 300, ${2 / 300}, ${2 / 300}, 0.02)`.execute(db);
	return id;
}

const storedKeys = async (db: TestDatabase['db'], id: string) =>
	(
		await sql<StoredKey>`
			select key, count, first_step, last_step, last_value, min_value, max_value
			from metric_keys where job_id = ${id} order by key_no`.execute(db)
	).rows;

describe.each(BACKENDS)('key-summaries migration (%s)', (backend) => {
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

	it('keeps every summary and the current step; down folds the newer rows into the summaries', async () => {
		const id = await seedPreviousSchema(handle.db);
		const before = await storedKeys(handle.db, id);
		await migrateToLatest(handle.db);

		const keys = await listKeys(handle.db, id);
		expect(keys.map((k) => [k.key, k.count, k.firstStep, k.lastStep, k.lastValue, k.min, k.max])).toEqual(
			before.map((k) => [k.key, k.count, k.first_step, k.last_step, k.last_value, k.min_value, k.max_value])
		);
		expect(await getJob(handle.db, id)).toMatchObject({ currentStep: STEPS, latestLoss: 1 / STEPS });

		// New values after the migration are not in the stored summaries (the write path leaves
		// them to readers and the background fold) …
		const events = new JobEvents();
		await ingestPoints(handle.db, events, undefined, id, [
			{ step: 301, metrics: { 'train/loss': 5, lr: 0.1 } },
			{ step: 400, metrics: { 'train/loss': 0.001, 'val/loss': 0.5, lr: 0.2 } }
		]);
		const after = (await listKeys(handle.db, id)).map((k) => [k.key, k.count, k.firstStep, k.lastStep, k.lastValue]);
		expect(after).toEqual([
			['train/loss', STEPS + 2, 1, 400, 0.001],
			['val/loss', 4, 100, 400, 0.5],
			['lr', 2, 301, 400, 0.2]
		]);
		expect((await storedKeys(handle.db, id))[0]!.count).toBe(STEPS);

		// … so going down folds them in: the previous code reads the summaries as complete.
		await migrateTo(handle.db, BEFORE);
		expect(
			(await storedKeys(handle.db, id)).map((k) => [k.key, k.count, k.first_step, k.last_step, k.last_value])
		).toEqual(after);
		const [trainLoss] = await storedKeys(handle.db, id);
		expect([trainLoss!.min_value, trainLoss!.max_value]).toEqual([0.001, 5]);
		const { rows: columns } = await sql<{ column_name: string }>`
			select column_name from information_schema.columns
			where (table_name = 'metric_keys' and column_name = 'summary_position')
				or (table_name = 'jobs' and column_name = 'metric_step')`.execute(handle.db);
		expect(columns).toEqual([]);

		// And up again: the folded summaries are complete, nothing is counted twice.
		await migrateToLatest(handle.db);
		expect((await listKeys(handle.db, id)).map((k) => [k.key, k.count, k.firstStep, k.lastStep, k.lastValue])).toEqual(
			after
		);
		expect(await getJob(handle.db, id)).toMatchObject({ currentStep: 400, latestLoss: 0.001 });
	});
});
