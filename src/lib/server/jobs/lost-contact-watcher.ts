import type { Db } from '../db';
import type { JobEvents } from '../events/job-events';
import { log } from '../log';
import { failLostJobs } from './transitions';

/**
 * Fails running external jobs whose script went silent (see failLostJobs), checking a few
 * times per VAPOR_LOST_AFTER_S: a job is failed at most a fifth of that (and 30 s) late.
 */
export class LostContactWatcher {
	private timer: NodeJS.Timeout | undefined;
	private sweeping: Promise<void> | undefined;
	private readonly intervalMs: number;

	constructor(
		private readonly db: Db,
		private readonly events: JobEvents,
		private readonly lostAfterS: number
	) {
		this.intervalMs = Math.min(30_000, Math.max(250, (lostAfterS * 1000) / 5));
	}

	start(): void {
		if (this.timer) return;
		this.timer = setInterval(() => void this.sweep(), this.intervalMs);
		this.timer.unref();
	}

	sweep(): Promise<void> {
		this.sweeping ??= (async () => {
			try {
				const lost = await failLostJobs(this.db, this.events, this.lostAfterS);
				for (const job of lost) {
					log.warn('failed a job whose training script went silent', {
						jobId: job.id,
						name: job.name,
						lostAfterS: this.lostAfterS
					});
				}
			} catch (error) {
				log.warn('could not check for external jobs that lost contact', { error });
			} finally {
				this.sweeping = undefined;
			}
		})();
		return this.sweeping;
	}

	async stop(): Promise<void> {
		clearInterval(this.timer);
		this.timer = undefined;
		await this.sweeping;
	}
}
