import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/lib/server/db';
import { migrateDown, migrateToLatest, migrateToNothing } from '../../src/lib/server/db/migrate';
import { seedDemoJobs } from '../../src/lib/server/jobs/demo-jobs';
import { findJob, insertJob, listJobs } from '../../src/lib/server/jobs/jobs.repository';
import { insertPoints, listPoints } from '../support/points';
import { migrations } from '../../migrations/index';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../support/databases';

async function tableNames(handle: DatabaseHandle): Promise<string[]> {
	const { rows } = await sql<{ name: string }>`
		select table_name as name from information_schema.tables
		where table_schema = 'public' and table_name in ('jobs', 'metric_rows') order by 1`.execute(handle.db);
	return rows.map((row) => row.name);
}

const newJob = (name: string) => ({
	name,
	base_model: 'bert-base',
	dataset: 'imdb',
	epochs: 2,
	learning_rate: 0.001,
	batch_size: 32,
	seed: 1
});

describe.each(BACKENDS)('database (%s)', (backend) => {
	let handle: TestDatabase;

	beforeAll(async () => {
		handle = await openTestDatabase(backend);
	});
	beforeEach(async () => {
		await handle.reset();
	});
	afterAll(async () => {
		await handle?.dispose();
	});

	it('migrates up, down and up again', async () => {
		// Every migration, in order (listed in migrations/index.ts).
		const names = Object.keys(migrations);
		expect(await migrateToLatest(handle.db)).toEqual(names.map((name) => `Up ${name}`));
		expect(await tableNames(handle)).toEqual(['jobs', 'metric_rows']);
		expect(await migrateToLatest(handle.db)).toEqual([]);

		expect(await migrateDown(handle.db, names.length)).toEqual(names.toReversed().map((name) => `Down ${name}`));
		expect(await tableNames(handle)).toEqual([]);

		await migrateToLatest(handle.db);
		await insertJob(handle.db, newJob('after re-migration'));
		expect(await migrateToNothing(handle.db)).toHaveLength(names.length);
		expect(await migrateToLatest(handle.db)).toHaveLength(names.length);
		expect(await listJobs(handle.db)).toEqual([]);
	});

	it('undoes external jobs and tokens alone, keeping jobs and their points', async () => {
		await migrateToLatest(handle.db);
		const job = await insertJob(handle.db, { ...newJob('kept'), source: 'external' });
		await insertPoints(handle.db, [{ jobId: job.id, step: 1, epoch: 1, loss: 1, accuracy: null }]);
		while (
			(
				await sql<{
					n: number;
				}>`select count(*)::int as n from kysely_migration where name > '2026-11-29T0300'`.execute(handle.db)
			).rows[0]!.n > 1
		) {
			await migrateDown(handle.db); // migrations of later branches first
		}
		expect(await migrateDown(handle.db)).toEqual(['Down 2026-11-29T0300_external-jobs-and-tokens']);
		const { rows } = await sql<{ name: string }>`
			select table_name as name from information_schema.tables where table_schema = 'public' and table_name = 'api_tokens'
			union all
			select column_name from information_schema.columns
			where table_schema = 'public' and table_name = 'jobs' and column_name = 'source'`.execute(handle.db);
		expect(rows).toEqual([]);
		expect((await sql<{ n: number }>`select count(*)::int as n from metrics`.execute(handle.db)).rows[0]!.n).toBe(1);
	});

	describe('with the schema', () => {
		beforeEach(async () => {
			await migrateToLatest(handle.db);
		});

		it('stores a job with defaults and returns it with no latest point', async () => {
			const job = await insertJob(handle.db, newJob('a'));
			expect(job).toMatchObject({ status: 'queued', steps_per_epoch: 100, current_step: null, error: null });
			expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
			expect(job.created_at).toBeInstanceOf(Date);
		});

		it('joins each job with its latest point', async () => {
			const job = await insertJob(handle.db, newJob('with points'));
			await insertPoints(handle.db, [
				{ jobId: job.id, step: 1, epoch: 1, loss: 2.5, accuracy: 0.1 },
				{ jobId: job.id, step: 2, epoch: 1, loss: 2.25, accuracy: null },
				{ jobId: job.id, step: 3, epoch: 1, loss: 2.0, accuracy: 0.3 }
			]);
			expect(await findJob(handle.db, job.id)).toMatchObject({
				current_step: 3,
				latest_loss: 2.0,
				latest_accuracy: 0.3
			});
			const points = await listPoints(handle.db, job.id, { afterStep: 1 });
			expect(points.map((p) => [p.step, p.loss, p.accuracy])).toEqual([
				[2, 2.25, null],
				[3, 2.0, 0.3]
			]);
			expect(await listPoints(handle.db, job.id, { afterStep: 0, limit: 1 })).toHaveLength(1);
		});

		it('refuses a stored step with another value, and writes none of a batch that holds one', async () => {
			const job = await insertJob(handle.db, newJob('dup'));
			await insertPoints(handle.db, [{ jobId: job.id, step: 1, epoch: 1, loss: 1, accuracy: null }]);
			await expect(
				insertPoints(handle.db, [
					{ jobId: job.id, step: 2, epoch: 1, loss: 1, accuracy: null },
					{ jobId: job.id, step: 1, epoch: 1, loss: 5, accuracy: null }
				])
			).rejects.toThrow(/duplicate key: loss at step 1/);
			expect((await listPoints(handle.db, job.id)).map((p) => p.step)).toEqual([1]);
			// The same value again is a retry: accepted, and step 2 is written.
			await insertPoints(handle.db, [
				{ jobId: job.id, step: 1, epoch: 1, loss: 1, accuracy: null },
				{ jobId: job.id, step: 2, epoch: 1, loss: 1, accuracy: null }
			]);
			expect((await listPoints(handle.db, job.id)).map((p) => p.step)).toEqual([1, 2]);
		});

		it('enforces the CHECK constraints even if validation were bypassed', async () => {
			await expect(insertJob(handle.db, { ...newJob('x'), epochs: 0 })).rejects.toThrow(/check constraint/);
			await expect(insertJob(handle.db, { ...newJob('x'), status: 'paused' as never })).rejects.toThrow(
				/check constraint/
			);
			await expect(insertJob(handle.db, { ...newJob(''), epochs: 1 })).rejects.toThrow(/check constraint/);
			await expect(insertJob(handle.db, { ...newJob('x'), source: 'cron' as never })).rejects.toThrow(
				/check constraint/
			);
			expect(await listJobs(handle.db)).toEqual([]);
			expect((await insertJob(handle.db, newJob('default source'))).source).toBe('simulated');
		});

		it('deletes the points of a deleted job', async () => {
			const job = await insertJob(handle.db, newJob('cascade'));
			await insertPoints(handle.db, [{ jobId: job.id, step: 1, epoch: 1, loss: 1, accuracy: null }]);
			await handle.db.deleteFrom('jobs').where('id', '=', job.id).execute();
			expect(await listPoints(handle.db, job.id)).toEqual([]);
		});

		it('seeds the demo jobs once, on an empty database only', async () => {
			expect(await seedDemoJobs(handle.db)).toBe(3);
			expect(await seedDemoJobs(handle.db)).toBe(0);
			const jobs = await listJobs(handle.db);
			expect(jobs.map((j) => j.status).sort()).toEqual(['completed', 'failed', 'queued']);
			const completed = jobs.find((j) => j.status === 'completed')!;
			expect(completed.current_step).toBe(completed.epochs * completed.steps_per_epoch);
			const failed = jobs.find((j) => j.status === 'failed')!;
			expect(failed.error).toMatch(new RegExp(`Loss diverged \\(NaN\\) at step ${failed.current_step! + 1}`));
		});

		// Skipped on PGlite: one connection in one process leaves nothing to race.
		it.runIf(backend === 'postgres')('seeds once even when two instances start together', async () => {
			const results = await Promise.all([seedDemoJobs(handle.db), seedDemoJobs(handle.db)]);
			expect(results.sort()).toEqual([0, 3]);
		});
	});
});
