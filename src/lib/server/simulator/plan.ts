import { simulatedOutcome, type StatusChange } from '../jobs/transitions';
import type { BatchRow } from '../metrics/metrics.writer';
import { divergenceMessage } from '../../training/curve';
import { legacySimulatedStep, simulatedStep } from '../../training/simulated-metrics';
import { DEFAULT_PRIMARY_METRIC } from '../../training/metrics';
import type { RunningJob } from './simulator.repository';

/**
 * The next row of every running job, and the jobs this tick completes or fails. A job
 * created before named metrics (primary `loss`) keeps its two keys; others get the full set.
 */
export function planTick(jobs: readonly RunningJob[]): { rows: BatchRow[]; finishes: StatusChange[] } {
	const rows: BatchRow[] = [];
	const finishes: StatusChange[] = [];
	for (const job of jobs) {
		const step = job.lastStep + 1;
		if (step > job.totalSteps) {
			// Every step is already stored (written by an older version or by hand): just finish.
			finishes.push({ jobId: job.id, status: 'completed', error: null, when: 'always' });
			continue;
		}
		const { epoch, values } =
			job.primaryMetric === DEFAULT_PRIMARY_METRIC ? legacySimulatedStep(job, step) : simulatedStep(job, step);
		const outcome = simulatedOutcome(step, job.totalSteps, values[job.primaryMetric] ?? 0, () =>
			divergenceMessage(step, job.learningRate)
		);
		if (typeof outcome === 'object') {
			finishes.push({ jobId: job.id, status: 'failed', error: outcome.failed, when: 'always' });
			continue;
		}
		rows.push({ jobId: job.id, step, epoch, values });
		if (outcome === 'completed') finishes.push({ jobId: job.id, status: 'completed', error: null, when: 'always' });
	}
	return { rows, finishes };
}
