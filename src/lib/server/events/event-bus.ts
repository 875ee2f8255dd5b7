import type { Job } from '../../training/job';
import type { CommittedRow } from '../../training/metrics';
import { log } from '../log';

/** What happened to a job, published after the change is committed. */
export type JobEvent =
	| {
			type: 'rows';
			jobId: string;
			/** The job's primary metric, for consumers of today's loss/accuracy points. */
			primary: string;
			/** In position order, contiguous. */
			rows: CommittedRow[];
	  }
	| { type: 'status'; jobId: string; job: Job };

export type JobEventListener = (event: JobEvent) => void;

/** Any job's events, for the jobs list and watchers. */
export const ALL_JOBS = '*';

/**
 * The in-process fan-out: one publisher call reaches every subscriber of the job
 * (and of all jobs). A listener that throws is logged by the caller's catch and
 * does not stop the others.
 */
export class EventBus {
	#listeners = new Map<string, Set<JobEventListener>>();

	subscribe(jobId: string, listener: JobEventListener): () => void {
		let set = this.#listeners.get(jobId);
		if (!set) this.#listeners.set(jobId, (set = new Set()));
		set.add(listener);
		return () => {
			set.delete(listener);
			if (set.size === 0 && this.#listeners.get(jobId) === set) this.#listeners.delete(jobId);
		};
	}

	publish(event: JobEvent): void {
		for (const key of [event.jobId, ALL_JOBS]) {
			const set = this.#listeners.get(key);
			if (!set) continue;
			for (const listener of [...set]) {
				try {
					listener(event);
				} catch (error) {
					log.error('event listener failed', { jobId: event.jobId, type: event.type, error });
				}
			}
		}
	}

	get subscriberCount(): number {
		let count = 0;
		for (const set of this.#listeners.values()) count += set.size;
		return count;
	}
}
