import type { Db } from '../db';
import { log } from '../log';
import { BLOCK_STEPS, rollUpCompletedBlocks } from './metric-key-blocks.repository';
import type { CommittedRow } from '../../training/metrics';

/**
 * Rolls up completed blocks in the background, one job at a time, so that writers (the
 * simulator's tick, an ingest request) never wait for it. A job asked for twice before
 * its turn is rolled up once. A failure only costs read speed: readers fall back to the
 * raw rows after the last stored block, and the next request catches up.
 */
export class BlockRollups {
	#pending = new Set<string>();
	#running: Promise<void> | undefined;

	constructor(private readonly db: Db) {}

	/** After a commit: rolls up when the rows reach into a new block (a block behind them may be complete). */
	rowsCommitted(jobId: string, rows: readonly CommittedRow[]): void {
		if (rows.length === 0) return;
		const first = rows[0]!.step;
		const last = rows.at(-1)!.step;
		if (rows.length > 1 || Math.floor(first / BLOCK_STEPS) !== Math.floor((first - 1) / BLOCK_STEPS) || last < first)
			this.request(jobId);
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
					await rollUpCompletedBlocks(this.db, jobId!);
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
