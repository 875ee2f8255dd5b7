import type { Db } from '../db';
import { log } from '../log';
import { BLOCK_STEPS, rollUpCompletedBlocks } from './metric-key-blocks.repository';
import { summarizeKeys } from './metric-key-summaries.repository';
import type { CommittedRow } from '../../training/metrics';

/**
 * What a job's writes leave to be done off the write path: the keys' summaries brought up to
 * the job's position (the blocks are completed by the summaries' last steps), then the
 * completed blocks stored.
 */
export async function rollUp(db: Db, jobId: string): Promise<void> {
	await summarizeKeys(db, jobId);
	await rollUpCompletedBlocks(db, jobId);
}

/** Rows a job may commit before its summaries are brought up to date, whatever their steps. */
const TAIL_ROWS = BLOCK_STEPS;

/**
 * Brings keys' summaries up to date and rolls up completed blocks in the background, one
 * job at a time, so that writers (the simulator's tick, an ingest request) never wait for
 * it. A job asked for twice before its turn is rolled up once. A failure only costs read
 * speed: readers add the rows after the summaries and fall back to the raw rows after the
 * last stored block, and the next request catches up.
 */
export class BlockRollups {
	#pending = new Set<string>();
	#running: Promise<void> | undefined;
	/** Per job, the position of its last commit that asked for a roll-up. */
	#askedAt = new Map<string, number>();

	constructor(private readonly db: Db) {}

	/**
	 * After a commit: rolls up when the rows reach into a new block (a block behind them may
	 * be complete), or when TAIL_ROWS rows went by without (a script sending one key per
	 * request at one step), so that what readers add to the summaries stays small.
	 */
	rowsCommitted(jobId: string, rows: readonly CommittedRow[]): void {
		if (rows.length === 0) return;
		const first = rows[0]!.step;
		const last = rows.at(-1)!;
		const askedAt = this.#askedAt.get(jobId) ?? 0;
		if (
			rows.length > 1 ||
			Math.floor(first / BLOCK_STEPS) !== Math.floor((first - 1) / BLOCK_STEPS) ||
			last.step < first ||
			last.position - askedAt >= TAIL_ROWS
		) {
			// Only a hint (a forgotten job asks at its next block): bounded however many jobs come and go.
			if (this.#askedAt.size >= 10_000) this.#askedAt.clear();
			this.#askedAt.set(jobId, last.position);
			this.request(jobId);
		}
	}

	/** For jobs that ended, and writers that know better. */
	request(jobId: string): void {
		this.#pending.add(jobId);
		this.#running ??= this.#drain();
	}

	async #drain(): Promise<void> {
		try {
			while (this.#pending.size > 0) {
				const [jobId] = this.#pending;
				this.#pending.delete(jobId!);
				try {
					await rollUp(this.db, jobId!);
				} catch (error) {
					log.warn('could not roll up metric blocks; reads of this job fall back to raw rows', { jobId, error });
				}
			}
		} finally {
			this.#running = undefined;
		}
	}

	/** Waits for the roll-ups asked for so far. */
	async idle(): Promise<void> {
		while (this.#running) await this.#running;
	}
}
