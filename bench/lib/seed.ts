/**
 * Seeds a bench job's history through the one write path (metrics.writer via
 * tests/support/points), as every writer stores points: metric_rows, metric_keys and the
 * per-job positions are exactly what the tick or an ingest request would leave.
 */
import { openDatabase } from '../../src/lib/server/db/index';
import { insertPoints, type NewPoint } from '../../tests/support/points';

/** Points per commit: one statement each, small enough to stay well inside the deadline on a loaded machine. */
const CHUNK = 5_000;
/** Seeding is not what is measured: a long deadline, so a busy machine slows it down rather than failing it. */
const SEED_TIMEOUT_MS = 120_000;

export async function seedPoints(
	databaseUrl: string,
	jobId: string,
	count: number,
	pointAt: (step: number) => Omit<NewPoint, 'jobId' | 'step'>
): Promise<void> {
	const handle = openDatabase({ kind: 'postgres', url: databaseUrl }, { requestTimeoutMs: SEED_TIMEOUT_MS });
	try {
		for (let from = 1; from <= count; from += CHUNK) {
			const points: NewPoint[] = [];
			for (let step = from; step < from + CHUNK && step <= count; step++)
				points.push({ jobId, step, ...pointAt(step) });
			await insertPoints(handle.db, points, CHUNK);
		}
	} finally {
		await handle.close();
	}
}
