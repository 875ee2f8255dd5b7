import { openDatabase, type Db } from '../../src/lib/server/db';
import { listPoints as listJobPoints } from '../../src/lib/server/metrics/curve.service';
import { commitMetrics, type BatchRow } from '../../src/lib/server/metrics/metrics.writer';
import { summarizeKeys } from '../../src/lib/server/metrics/metric-key-summaries.repository';
import type { MetricPoint } from '../../src/lib/training/job';

/** A point in today's shape, for tests that seed jobs: stored as the keys loss and accuracy. */
export interface NewPoint {
	jobId: string;
	step: number;
	epoch: number;
	loss: number;
	accuracy: number | null;
	recordedAt?: Date;
}

/** Seeds points through the one write path (metrics.writer), as any writer would. */
export async function insertPoints(db: Db, points: readonly NewPoint[], chunk = 20_000): Promise<void> {
	for (let i = 0; i < points.length; i += chunk) {
		const rows: BatchRow[] = points.slice(i, i + chunk).map((p) => ({
			jobId: p.jobId,
			step: p.step,
			epoch: p.epoch,
			recordedAt: p.recordedAt?.toISOString(),
			values:
				p.accuracy === null ? { loss: p.loss } : ({ loss: p.loss, accuracy: p.accuracy } as Record<string, number>)
		}));
		const outcome = await commitMetrics(db, 'test', { kind: 'locked' }, rows);
		if (outcome.conflict) throw new Error(`duplicate key: ${outcome.conflict.key} at step ${outcome.conflict.step}`);
	}
}

/** Today's points of a job: its primary metric as loss, the companion as accuracy. */
export async function listPoints(
	db: Db,
	jobId: string,
	options?: { afterStep?: number; limit?: number }
): Promise<MetricPoint[]> {
	const job = await db.selectFrom('jobs').select('primary_metric').where('id', '=', jobId).executeTakeFirst();
	return listJobPoints(db, { id: jobId, primaryMetric: job?.primary_metric ?? 'loss' }, options);
}

/** Seeding is not what is measured or tested: a long deadline, so a loaded machine slows it rather than failing it. */
const SEED_TIMEOUT_MS = 120_000;

/**
 * Steps 1 to `count` of a job on a Postgres database (a server may be running on it), through
 * the write path in commits of `chunk` points: for benches and tests that need a long history.
 */
export async function seedPoints(
	databaseUrl: string,
	jobId: string,
	count: number,
	pointAt: (step: number) => Omit<NewPoint, 'jobId' | 'step'>,
	chunk = 5_000
): Promise<void> {
	const handle = openDatabase({ kind: 'postgres', url: databaseUrl }, { requestTimeoutMs: SEED_TIMEOUT_MS });
	try {
		for (let from = 1; from <= count; from += chunk) {
			const points: NewPoint[] = [];
			for (let step = from; step < from + chunk && step <= count; step++)
				points.push({ jobId, step, ...pointAt(step) });
			await insertPoints(handle.db, points, chunk);
		}
		// What a server folds in as it goes (BlockRollups); the block roll-ups are left to the caller.
		await summarizeKeys(handle.db, jobId);
	} finally {
		await handle.close();
	}
}
