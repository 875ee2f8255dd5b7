import type { Db } from '../db';
import { withAdvisoryLock } from '../db/migrate';
import { commitMetrics, type BatchRow } from '../metrics/metrics.writer';
import { countJobs, insertJob } from './jobs.repository';
import { curvePoint, divergenceMessage, type CurveConfig } from '../../training/curve';
import { SIMULATED_PRIMARY_METRIC } from '../../training/metrics';
import { simulatedStep } from '../../training/simulated-metrics';
import { STEPS_PER_EPOCH } from '../../training/job';

// Any fixed number: it only has to differ from the other advisory locks Vapor takes.
const DEMO_LOCK = 0x76617030;
const STEP_INTERVAL_MS = 2_000;

/** Every metric of a finished demo run, spread back in time so that it ended at `endedAt`. */
function pastRun(jobId: string, curve: CurveConfig, totalSteps: number, steps: number, endedAt: number): BatchRow[] {
	const rows: BatchRow[] = [];
	for (let step = 1; step <= steps; step++) {
		const { epoch, values } = simulatedStep({ ...curve, totalSteps }, step);
		const recordedAt = new Date(endedAt - (steps - step) * STEP_INTERVAL_MS).toISOString();
		rows.push({ jobId, step, epoch, recordedAt, values });
	}
	return rows;
}

function firstNaNStep(curve: CurveConfig, limit: number): number {
	for (let step = 1; step <= limit; step++) if (Number.isNaN(curvePoint(curve, step).loss)) return step;
	return limit;
}

/**
 * Gives a new user something to look at: on an empty database, one completed run
 * with a full curve, one that diverged and failed, and one queued to start.
 * Returns how many jobs it created (0 when the database already had jobs).
 */
export async function seedDemoJobs(db: Db, now = Date.now()): Promise<number> {
	return withAdvisoryLock(db, DEMO_LOCK, async (trx) => {
		if ((await countJobs(trx)) > 0) return 0;

		const completedCurve = { seed: 1234, learningRate: 3e-4, batchSize: 64, stepsPerEpoch: STEPS_PER_EPOCH };
		const completedSteps = 5 * STEPS_PER_EPOCH;
		const completedEnd = now - 60 * 60_000;
		const completed = await insertJob(trx, {
			name: 'ResNet-18 on CIFAR-10 (demo)',
			base_model: 'resnet-18',
			dataset: 'cifar-10',
			epochs: 5,
			learning_rate: completedCurve.learningRate,
			batch_size: completedCurve.batchSize,
			seed: completedCurve.seed,
			primary_metric: SIMULATED_PRIMARY_METRIC,
			status: 'completed',
			created_at: new Date(completedEnd - completedSteps * STEP_INTERVAL_MS - 30_000),
			started_at: new Date(completedEnd - completedSteps * STEP_INTERVAL_MS),
			finished_at: new Date(completedEnd)
		});

		const failedCurve = { seed: 99, learningRate: 0.8, batchSize: 16, stepsPerEpoch: STEPS_PER_EPOCH };
		const nanStep = firstNaNStep(failedCurve, 3 * STEPS_PER_EPOCH);
		const failedEnd = now - 20 * 60_000;
		const failed = await insertJob(trx, {
			name: 'DistilBERT on SST-2, lr too high (demo)',
			base_model: 'distilbert-base',
			dataset: 'sst-2',
			epochs: 3,
			learning_rate: failedCurve.learningRate,
			batch_size: failedCurve.batchSize,
			seed: failedCurve.seed,
			primary_metric: SIMULATED_PRIMARY_METRIC,
			status: 'failed',
			error: divergenceMessage(nanStep, failedCurve.learningRate),
			created_at: new Date(failedEnd - nanStep * STEP_INTERVAL_MS - 30_000),
			started_at: new Date(failedEnd - nanStep * STEP_INTERVAL_MS),
			finished_at: new Date(failedEnd)
		});

		await insertJob(trx, {
			name: 'GPT-2 small on WikiText-2 (demo)',
			base_model: 'gpt2-small',
			dataset: 'wikitext-2',
			epochs: 3,
			learning_rate: 5e-4,
			batch_size: 32,
			seed: 7,
			primary_metric: SIMULATED_PRIMARY_METRIC,
			created_at: new Date(now - 5 * 60_000)
		});

		await commitMetrics(trx, 'demo', { kind: 'locked' }, [
			...pastRun(completed.id, completedCurve, completedSteps, completedSteps, completedEnd),
			...pastRun(failed.id, failedCurve, 3 * STEPS_PER_EPOCH, nanStep - 1, failedEnd)
		]);
		return 3;
	});
}
