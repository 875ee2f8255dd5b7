import { curvePoint, divergenceMessage } from '../../training/curve';
import type { RunningJob, TickFinish, TickPoint } from './simulator.repository';

/** The next point of every running job, and the jobs that this tick completes or fails. */
export function planTick(jobs: readonly RunningJob[]): { points: TickPoint[]; finishes: TickFinish[] } {
	const points: TickPoint[] = [];
	const finishes: TickFinish[] = [];
	for (const job of jobs) {
		const step = job.lastStep + 1;
		if (step > job.totalSteps) {
			// Every step is already stored (written by an older version or by hand): just finish.
			finishes.push({ jobId: job.id, status: 'completed', error: null });
			continue;
		}
		const point = curvePoint(job, step);
		if (Number.isNaN(point.loss)) {
			finishes.push({ jobId: job.id, status: 'failed', error: divergenceMessage(step, job.learningRate) });
			continue;
		}
		points.push({ jobId: job.id, step, epoch: point.epoch, loss: point.loss, accuracy: point.accuracy });
		if (step === job.totalSteps) finishes.push({ jobId: job.id, status: 'completed', error: null });
	}
	return { points, finishes };
}
