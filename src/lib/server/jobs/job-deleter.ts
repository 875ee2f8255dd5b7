import { sql } from 'kysely';
import type { Db } from '../db';
import { conflict, notFound } from '../errors';
import { log } from '../log';
import { keySummariesSql } from '../metrics/metric-key-summaries.repository';

export interface DeleteRequest {
	id: string;
	name: string;
	/** Values (of every key) still to delete when the request was accepted. */
	points: number;
}

/**
 * Marks a job for deletion: from this moment it is gone from every read (lists, pages,
 * the API). A running job is refused: stop it first. Asking again for a job already being
 * deleted is accepted again, so a retried request is harmless.
 */
export async function requestJobDelete(db: Db, id: string): Promise<DeleteRequest> {
	const marked = await db
		.updateTable('jobs')
		.set({ deleting_at: sql`coalesce(deleting_at, now())` })
		.where('id', '=', id)
		.where('status', '<>', 'running')
		.returning(['id', 'name'])
		.executeTakeFirst();
	if (!marked) {
		const job = await db.selectFrom('jobs').select(['name', 'status']).where('id', '=', id).executeTakeFirst();
		if (!job) throw notFound(`No job has the id ${id}. It may never have existed, or it was deleted.`);
		throw conflict(`"${job.name}" is running: stop it first, then delete it.`);
	}
	// Stored values, from the keys' summaries (one small row per key and the few rows after them, not a scan of the values).
	const { rows } = await sql<{ points: string }>`
		select coalesce(sum(count), 0)::text as points from (${keySummariesSql(id)}) k`.execute(db);
	return { ...marked, points: Number(rows[0]?.points ?? 0) };
}

export interface JobDeleterOptions {
	/** Rows per DELETE: small enough that no statement holds the table (or PGlite's one connection) for long. */
	batchSize?: number;
	/** Called after each batch (tests stop a deleter mid-way with it). */
	onBatch?: (jobId: string, deleted: number) => void;
}

/**
 * Deletes jobs marked for deletion, in bounded batches, in the background: rows of values first,
 * then the block roll-ups and key summaries, then the job's row. The mark is in the database, so a restart
 * mid-delete picks the work up again (start() looks for it).
 */
export class JobDeleter {
	#running: Promise<void> | undefined;
	#again = false;
	#stopped = false;
	readonly #batchSize: number;

	constructor(
		private readonly db: Db,
		private readonly options: JobDeleterOptions = {}
	) {
		this.#batchSize = options.batchSize ?? 5_000;
	}

	/** Finishes deletes left by a previous process, and any asked for later through kick(). */
	start(): void {
		this.#stopped = false;
		this.kick();
	}

	/** There is (or may be) something to delete. */
	kick(): void {
		if (this.#stopped) return;
		if (this.#running) {
			this.#again = true;
			return;
		}
		this.#running = this.#drain()
			.catch((error) => log.error('background delete failed; it resumes on the next delete or restart', { error }))
			.finally(() => {
				this.#running = undefined;
				if (this.#again && !this.#stopped) {
					this.#again = false;
					this.kick();
				}
			});
	}

	/** Resolves when nothing is being deleted. */
	async idle(): Promise<void> {
		while (this.#running) await this.#running;
	}

	/** Stops after the batch in flight; what is left is finished by the next start(). */
	async stop(): Promise<void> {
		this.#stopped = true;
		await this.idle();
	}

	async #drain(): Promise<void> {
		for (;;) {
			if (this.#stopped) return;
			const next = await this.db
				.selectFrom('jobs')
				.select(['id', 'name'])
				.where('deleting_at', 'is not', null)
				.orderBy('deleting_at')
				.limit(1)
				.executeTakeFirst();
			if (!next) return;
			const started = Date.now();
			const done = await this.#deleteJob(next.id);
			if (done) log.info('job deleted', { jobId: next.id, name: next.name, ms: Date.now() - started });
		}
	}

	/** Deletes one job's rows batch by batch; false when stopped before the end. */
	async #deleteJob(jobId: string): Promise<boolean> {
		for (const table of ['metric_rows', 'metric_key_blocks', 'metric_keys'] as const) {
			for (;;) {
				if (this.#stopped) return false;
				// ctid: the physical row address, the cheapest way to name "these N rows" in a DELETE.
				const result = await sql`
					delete from ${sql.table(table)} where ctid = any(array(
						select ctid from ${sql.table(table)} where job_id = ${jobId} limit ${this.#batchSize}))`.execute(this.db);
				const deleted = Number(result.numAffectedRows ?? 0);
				this.options.onBatch?.(jobId, deleted);
				if (deleted < this.#batchSize) break;
				// Let queued queries (ingest, page loads) run between batches.
				await new Promise((resolve) => setImmediate(resolve));
			}
		}
		await this.db.deleteFrom('jobs').where('id', '=', jobId).where('deleting_at', 'is not', null).execute();
		return true;
	}
}
