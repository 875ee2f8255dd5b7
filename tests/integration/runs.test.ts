import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateDown, migrateTo, migrateToLatest } from '../../src/lib/server/db/migrate';
import { migrations } from '../../migrations';
import { HttpError } from '../../src/lib/server/errors';
import { JobEvents } from '../../src/lib/server/events/job-events';
import { JobDeleter } from '../../src/lib/server/jobs/job-deleter';
import { deleteJob } from '../../src/lib/server/jobs/job-deleter.service';
import { patchJob } from '../../src/lib/server/jobs/job-edits';
import { createJob, getJob, listRunsFromParams } from '../../src/lib/server/jobs/jobs.service';
import { cloneJob, startJob, stopJob } from '../../src/lib/server/jobs/transitions';
import { insertPoints } from '../support/points';
import type { Job } from '../../src/lib/training/job';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../support/databases';

const MIGRATION = '2026-12-01T0300_run-config-tags-notes';

describe.each(BACKENDS)('runs: config, tags, search, paging, delete (%s)', (backend) => {
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

	const create = (fields: Record<string, unknown> = {}) =>
		createJob(handle.db, events, { name: 'run', baseModel: 'bert-base', dataset: 'imdb', ...fields });
	const list = async (query: string) => listRunsFromParams(handle.db, new URLSearchParams(query));
	const names = async (query: string) => (await list(query)).jobs.map((job) => job.name);
	const rejection = async (promise: Promise<unknown>) =>
		promise.then(
			() => {
				throw new Error('expected a refusal');
			},
			(error: unknown) => error as HttpError
		);
	const pointCount = async (jobId: string) =>
		(await sql<{ n: number }>`select count(*)::int as n from metric_rows where job_id = ${jobId}`.execute(handle.db))
			.rows[0]!.n;

	it('migrates a database with the previous schema and its jobs: the five hyperparameters become config, and back', async () => {
		// Back to the schema before this branch, with a job as it stored them.
		while ((await migrateDown(handle.db))[0] !== `Down ${MIGRATION}`);
		const { rows } = await sql<{ id: string }>`
			insert into jobs (name, base_model, dataset, epochs, learning_rate, batch_size, seed)
			values ('old run', 'gpt2-small', 'wikitext-2', 4, 0.002, 16, 7) returning id`.execute(handle.db);
		const id = rows[0]!.id;
		// Its point as that schema stored it (today's writer needs columns added since).
		await sql`insert into metric_keys (job_id, key_no, key, count, first_step, last_step, last_value, min_value, max_value)
			values (${id}, 0, 'loss', 1, 1, 1, 2.5, 2.5, 2.5)`.execute(handle.db);
		await sql`insert into metric_rows (job_id, position, step, epoch, keys, vals)
			values (${id}, 1, 1, 1, '{0}', '{2.5}')`.execute(handle.db);
		await sql`update jobs set metric_position = 1 where id = ${id}`.execute(handle.db);

		await migrateToLatest(handle.db);
		expect(await getJob(handle.db, id)).toMatchObject({
			name: 'old run',
			learningRate: 0.002,
			config: { baseModel: 'gpt2-small', dataset: 'wikitext-2', epochs: 4, learningRate: 0.002, batchSize: 16 },
			tags: [],
			note: '',
			archivedAt: null,
			latestLoss: 2.5
		});

		// Down keeps the job and its columns; a job being deleted is deleted for good.
		const doomed = await create({ name: 'doomed' });
		const deleter = new JobDeleter(handle.db);
		await deleteJob(handle.db, deleter, doomed.id);
		// The migration, not a background delete racing it, is what this checks.
		await deleter.stop();
		// Later migrations undo first; this one is the last to go.
		const names = Object.keys(migrations).sort();
		const undone = await migrateTo(handle.db, names[names.indexOf(MIGRATION) - 1]!);
		expect(undone.at(-1)).toBe(`Down ${MIGRATION}`);
		const after = await sql<{ name: string; learning_rate: number }>`select name, learning_rate from jobs`.execute(
			handle.db
		);
		expect(after.rows).toEqual([{ name: 'old run', learning_rate: 0.002 }]);
		const columns = await sql<{ name: string }>`
			select column_name as name from information_schema.columns
			where table_name = 'jobs' and column_name in ('config', 'tags', 'note', 'archived_at', 'deleting_at')`.execute(
			handle.db
		);
		expect(columns.rows).toEqual([]);
	});

	it('searches by name, tag, config equality and numeric comparison', async () => {
		await create({ name: 'BERT small', tags: ['nlp', 'baseline'], config: { optimizer: { name: 'adam', lr: 0.001 } } });
		await create({ name: 'bert large', tags: ['nlp'], config: { optimizer: { name: 'sgd', lr: 0.1 }, layers: 24 } });
		await create({
			name: 'resnet_50%',
			tags: ['vision'],
			config: { optimizer: { name: 'adam', lr: 0.01 }, amp: true }
		});
		await create({ name: 'plain', config: { optimizer: { lr: '0.1' } } });

		expect(await names('q=bert&sort=name')).toEqual(['BERT small', 'bert large']);
		expect(await names('q=baseline')).toEqual(['BERT small']); // a bare word matches a tag exactly
		expect(await names('q=name:50%25')).toEqual(['resnet_50%']); // % is literal, not a wildcard
		expect(await names('q=name:_')).toEqual(['resnet_50%']);
		expect(await names('q=tag:nlp&sort=name')).toEqual(['BERT small', 'bert large']);
		expect(await names('tag=nlp&tag=baseline')).toEqual(['BERT small']);
		expect(await names('q=config.optimizer.name=adam&sort=name')).toEqual(['BERT small', 'resnet_50%']);
		// Numbers compare as numbers (1e-3 = 0.001); the text "0.1" matches a string too.
		expect(await names('q=config.optimizer.lr=1e-3')).toEqual(['BERT small']);
		expect(await names('q=config.optimizer.lr=0.1&sort=name')).toEqual(['bert large', 'plain']);
		expect(await names('q=config.optimizer.lr>0.005&sort=name')).toEqual(['bert large', 'resnet_50%']);
		expect(await names('q=config.optimizer.lr<=0.01&sort=name')).toEqual(['BERT small', 'resnet_50%']);
		expect(await names('q=config.amp=true')).toEqual(['resnet_50%']);
		expect(await names('q=config.layers!=24&sort=name')).toEqual(['BERT small', 'plain', 'resnet_50%']);
		expect(await names('q=config.batchSize=32 tag:vision')).toEqual(['resnet_50%']);
		expect(await names('q=config.missing>1')).toEqual([]);

		const refused = await rejection(list('q=config.lr>fast'));
		expect(refused).toMatchObject({ status: 400, fields: { q: expect.stringMatching(/needs a number/) } });
	});

	it('filters by status, source and archived, and sorts by each column', async () => {
		// External jobs: their primary metric is the key "loss" these points are written as.
		const a = await create({ name: 'a', source: 'external' });
		const b = await create({ name: 'b', epochs: 1, source: 'external' });
		const c = await create({ name: 'c' });
		await startJob(handle.db, events, b.id);
		await insertPoints(handle.db, [{ jobId: b.id, step: 1, epoch: 1, loss: 0.5, accuracy: null }]);
		await insertPoints(handle.db, [{ jobId: a.id, step: 1, epoch: 1, loss: 0.9, accuracy: null }]);
		await startJob(handle.db, events, c.id);
		await stopJob(handle.db, events, c.id);

		expect(await names('status=running')).toEqual(['b']);
		expect(await names('source=simulated')).toEqual(['c']);
		expect(await names('sort=created&order=asc')).toEqual(['a', 'b', 'c']);
		expect(await names('sort=name&order=desc')).toEqual(['c', 'b', 'a']);
		expect(await names('sort=status')).toEqual(['b', 'a', 'c']); // running, queued, stopped
		expect(await names('sort=metric')).toEqual(['b', 'a', 'c']); // no loss last
		expect((await names('sort=duration'))[0]).toBe('c'); // unfinished ones last

		await patchJob(handle.db, events, a.id, { archived: true });
		expect(await names('sort=name')).toEqual(['b', 'c']);
		expect(await names('archived=only')).toEqual(['a']);
		expect(await names('archived=include&sort=name')).toEqual(['a', 'b', 'c']);
		await patchJob(handle.db, events, a.id, { archived: false });
		expect(await names('sort=name')).toEqual(['a', 'b', 'c']);
	});

	it('pages with a cursor: every job once, in order, while new jobs arrive between pages', async () => {
		for (let i = 0; i < 7; i++) await create({ name: `job ${i}` });
		for (const sort of ['created', 'name'] as const) {
			const seen: string[] = [];
			let cursor: string | undefined;
			let pages = 0;
			do {
				const page = await list(`sort=${sort}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
				seen.push(...page.jobs.map((job) => job.name));
				cursor = page.nextCursor;
				pages++;
				// A newer job arrives; the pages already read do not shift under the cursor.
				await create({ name: `zz late ${sort} ${pages}` });
			} while (cursor);
			const existing = Array.from({ length: 7 }, (_, i) => `job ${i}`);
			const inOrder = sort === 'created' ? existing.toReversed() : existing;
			expect(seen.filter((name) => name.startsWith('job '))).toEqual(inOrder);
			expect(new Set(seen).size).toBe(seen.length);
		}
		expect((await list('limit=200')).nextCursor).toBeUndefined();
	});

	it('leaves config out of the list unless asked', async () => {
		await create({ config: { seed: 3 } });
		expect((await list('')).jobs[0]!.config).toBeUndefined();
		expect((await list('fields=config')).jobs[0]!.config).toMatchObject({ seed: 3 });
	});

	it('edits tags and a note, merges config, and refuses to change a recorded key', async () => {
		const job = await create({ config: { optimizer: { lr: 0.01 } } });
		const edited = await patchJob(handle.db, events, job.id, {
			addTags: ['x', 'y'],
			note: 'first\nsecond',
			config: { optimizer: { lr: 0.01, warmup: 10 } }
		});
		expect(edited).toMatchObject({
			tags: ['x', 'y'],
			note: 'first\nsecond',
			config: { optimizer: { lr: 0.01, warmup: 10 } }
		});
		expect((await patchJob(handle.db, events, job.id, { removeTags: ['x'] })).tags).toEqual(['y']);

		const refused = await rejection(patchJob(handle.db, events, job.id, { config: { optimizer: { lr: 0.02 } } }));
		expect(refused.status).toBe(409);
		expect(refused.message).toContain('config.optimizer.lr');
		expect((await getJob(handle.db, job.id)).config).toMatchObject({ optimizer: { lr: 0.01 } });

		const tooMany = await rejection(
			patchJob(handle.db, events, job.id, { addTags: Array.from({ length: 50 }, (_, i) => `t${i}`) })
		);
		expect(tooMany).toMatchObject({ status: 400, fields: { tags: expect.stringMatching(/51 tags/) } });
	});

	it('runs a finished job again with its config and tags, as NAME (2), NAME (3), started at once', async () => {
		const job = await create({ name: 'NC run', tags: ['a'], config: { seed: 9 } });
		await startJob(handle.db, events, job.id);
		await stopJob(handle.db, events, job.id);
		const second = await cloneJob(handle.db, events, job.id);
		expect(second).toMatchObject({ name: 'NC run (2)', status: 'running', tags: ['a'], config: { seed: 9 } });
		expect(second.startedAt).not.toBeNull();
		await stopJob(handle.db, events, second.id);
		expect((await cloneJob(handle.db, events, second.id)).name).toBe('NC run (3)');
	});

	it('deletes in bounded batches in the background; the run leaves lists at once; running jobs are refused', async () => {
		const keep = await create({ name: 'keep' });
		const job = await create({ name: 'big' });
		const points = Array.from({ length: 1_000 }, (_, i) => ({
			jobId: job.id,
			step: i + 1,
			epoch: 1,
			loss: 1,
			accuracy: null
		}));
		await insertPoints(handle.db, points);
		await insertPoints(handle.db, [{ jobId: keep.id, step: 1, epoch: 1, loss: 1, accuracy: null }]);

		await startJob(handle.db, events, job.id);
		const deleter = new JobDeleter(handle.db, { batchSize: 300 });
		expect(await rejection(deleteJob(handle.db, deleter, job.id))).toMatchObject({ status: 409 });
		await stopJob(handle.db, events, job.id);

		const batches: number[] = [];
		const observed = new JobDeleter(handle.db, { batchSize: 300, onBatch: (_, n) => batches.push(n) });
		expect(await deleteJob(handle.db, observed, job.id)).toMatchObject({ name: 'big', points: 1_000 });
		// Gone from every read at once, before its points are.
		expect(await names('')).toEqual(['keep']);
		expect(await rejection(getJob(handle.db, job.id))).toMatchObject({ status: 404 });
		await observed.idle();
		expect(batches.slice(0, 4)).toEqual([300, 300, 300, 100]);
		expect(await pointCount(job.id)).toBe(0);
		expect(await pointCount(keep.id)).toBe(1);
		expect((await sql<{ n: number }>`select count(*)::int as n from jobs`.execute(handle.db)).rows[0]!.n).toBe(1);
		expect(await rejection(deleteJob(handle.db, observed, job.id))).toMatchObject({ status: 404 });
	});

	it('finishes a delete that a stopped process left half done, on the next start', async () => {
		const job: Job = await create({ name: 'half' });
		await insertPoints(
			handle.db,
			Array.from({ length: 500 }, (_, i) => ({ jobId: job.id, step: i + 1, epoch: 1, loss: 1, accuracy: null }))
		);
		const first: JobDeleter = new JobDeleter(handle.db, { batchSize: 100, onBatch: () => void first.stop() });
		await deleteJob(handle.db, first, job.id);
		await first.idle();
		const left = await pointCount(job.id);
		expect(left).toBe(400); // stopped after one batch, as a process going down would be

		const next = new JobDeleter(handle.db, { batchSize: 100 });
		next.start();
		await next.idle();
		expect(await pointCount(job.id)).toBe(0);
		expect((await sql<{ n: number }>`select count(*)::int as n from jobs`.execute(handle.db)).rows[0]!.n).toBe(0);
	});
});
