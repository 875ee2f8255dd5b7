import type { Db } from '../db';
import { POINTS_PER_COLUMN } from './metrics-query';
import { listDownsampledPoints, listPoints } from './metrics.repository';
import type { MetricPoint } from '../../training/job';

/**
 * The whole curve after `afterStep` in at most `maxPoints` points: every point when
 * they fit, else an M4 downsample that keeps each column's extremes.
 */
export async function readCurve(db: Db, jobId: string, maxPoints: number, afterStep = 0): Promise<MetricPoint[]> {
	const bounds = await db
		.selectFrom('metrics')
		.select((eb) => [eb.fn.min('step').as('lo'), eb.fn.max('step').as('hi')])
		.where('job_id', '=', jobId)
		.where('step', '>', afterStep)
		.executeTakeFirst();
	if (bounds?.lo == null || bounds.hi == null) return [];
	if (bounds.hi - bounds.lo + 1 <= maxPoints) return listPoints(db, jobId, { afterStep, limit: maxPoints });
	return listDownsampledPoints(db, jobId, { columns: Math.floor(maxPoints / POINTS_PER_COLUMN), afterStep });
}
