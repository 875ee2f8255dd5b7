import type { Db } from '../db';
import { listDownsampledPoints, listPoints } from './metrics.repository';
import { BLOCK_STEPS, listDownsampledFromBlocks } from './metric-blocks.repository';
import { blockAlignedGrid, POINTS_PER_COLUMN } from '../../training/downsample';
import type { MetricPoint } from '../../training/job';

/**
 * The whole curve after `afterStep` in at most `maxPoints` points: every point when
 * they fit, else an M4 downsample that keeps each column's extremes.
 *
 * Long curves are drawn from the stored block extremes (metric-blocks.repository) on a
 * grid of block-aligned columns (training/downsample.ts), which keeps exactly the points
 * M4 over every row would, at the cost of reading ~6 rows per 256 steps. Shorter ones, where block-wide columns
 * would be too coarse, are downsampled from the rows in the database.
 */
export async function readCurve(db: Db, jobId: string, maxPoints: number, afterStep = 0): Promise<MetricPoint[]> {
	const bounds = await db
		.selectFrom('metrics')
		.select((eb) => [eb.fn.min('step').as('lo'), eb.fn.max('step').as('hi')])
		.where('job_id', '=', jobId)
		.where('step', '>', afterStep)
		.executeTakeFirst();
	if (bounds?.lo == null || bounds.hi == null) return [];
	const span = bounds.hi - bounds.lo + 1;
	if (span <= maxPoints) return listPoints(db, jobId, { afterStep, limit: maxPoints });

	const columns = Math.floor(maxPoints / POINTS_PER_COLUMN);
	// Block-wide columns must still give at least half the resolution asked for.
	if (span < (columns * BLOCK_STEPS) / 2) return listDownsampledPoints(db, jobId, { columns, afterStep });

	return listDownsampledFromBlocks(db, jobId, afterStep, blockAlignedGrid(bounds.lo, bounds.hi, columns, BLOCK_STEPS));
}
