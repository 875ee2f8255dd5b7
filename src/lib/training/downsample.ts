/**
 * Min/max-preserving downsampling (M4: Jugel et al., "M4: A Visualization-Oriented Time
 * Series Data Aggregation", VLDB 2014). The x range is cut into as many columns as the
 * chart has pixels; each column keeps its first and last point and the points where
 * each series reaches its minimum and maximum. Drawn as a line, the result covers
 * exactly the pixels the full series would, so a one-step spike is never hidden, which
 * the sampling of other trackers (every n-th point, or LTTB alone) cannot promise.
 */

/** M4 keeps up to 6 points per column (first, last, min and max of loss and accuracy). */
export const POINTS_PER_COLUMN = 6;
/** Of one key, M4 keeps up to 4 values per column (first, last, lowest, highest). */
export const VALUES_PER_COLUMN = 4;

export interface SeriesPoint {
	step: number;
	loss: number;
	accuracy: number | null;
}

/**
 * How a step range is cut into columns: step s falls in column
 * floor((s - origin) * count / span), clamped to [0, count).
 */
export interface ColumnGrid {
	origin: number;
	span: number;
	count: number;
}

/** `columns` columns of equal width over [firstStep, lastStep]. */
export function evenGrid(firstStep: number, lastStep: number, columns: number): ColumnGrid {
	return { origin: firstStep, span: Math.max(1, lastStep - firstStep + 1), count: Math.max(1, Math.floor(columns)) };
}

/**
 * At most `columns` columns whose edges fall on multiples of `blockSize`. M4 over the
 * extremes of whole blocks then equals M4 over every point of those blocks, because a
 * column's first, last, lowest and highest point is the first, last, lowest or highest
 * point of one of its blocks. This is what lets the server draw a million points from
 * a few thousand stored block extremes.
 */
export function blockAlignedGrid(firstStep: number, lastStep: number, columns: number, blockSize: number): ColumnGrid {
	const origin = Math.floor(firstStep / blockSize) * blockSize;
	const wanted = Math.max(1, Math.floor(columns));
	const width = Math.ceil((lastStep - origin + 1) / wanted / blockSize) * blockSize;
	const count = Math.ceil((lastStep - origin + 1) / width);
	return { origin, span: width * count, count };
}

/**
 * Downsamples points as they arrive, in step order, over a fixed grid (a job's run
 * length): a column, once passed, never changes, so each new point costs O(1).
 */
export class M4Accumulator<T extends SeriesPoint> {
	#kept: T[] = [];
	#column = -1;
	#open: { first: T; last: T; minLoss: T; maxLoss: T; minAccuracy?: T; maxAccuracy?: T } | undefined;
	readonly grid: ColumnGrid;

	constructor(grid: ColumnGrid);
	constructor(firstStep: number, lastStep: number, columns: number);
	constructor(gridOrFirstStep: ColumnGrid | number, lastStep = 0, columns = 1) {
		this.grid = typeof gridOrFirstStep === 'number' ? evenGrid(gridOrFirstStep, lastStep, columns) : gridOrFirstStep;
	}

	#columnOf(step: number): number {
		const { origin, span, count } = this.grid;
		return Math.max(0, Math.min(count - 1, Math.floor(((step - origin) * count) / span)));
	}

	add(point: T): void {
		const column = this.#columnOf(point.step);
		const open = this.#open;
		if (!open || column !== this.#column) {
			this.#close();
			this.#column = column;
			const withAccuracy = point.accuracy === null ? undefined : point;
			this.#open = {
				first: point,
				last: point,
				minLoss: point,
				maxLoss: point,
				minAccuracy: withAccuracy,
				maxAccuracy: withAccuracy
			};
			return;
		}
		open.last = point;
		if (point.loss < open.minLoss.loss) open.minLoss = point;
		if (point.loss > open.maxLoss.loss) open.maxLoss = point;
		if (point.accuracy !== null) {
			if (!open.minAccuracy || point.accuracy < open.minAccuracy.accuracy!) open.minAccuracy = point;
			if (!open.maxAccuracy || point.accuracy > open.maxAccuracy.accuracy!) open.maxAccuracy = point;
		}
	}

	#openPoints(): T[] {
		const open = this.#open;
		if (!open) return [];
		const picked = [open.first, open.minLoss, open.maxLoss, open.minAccuracy, open.maxAccuracy, open.last];
		const unique = [...new Set(picked.filter((point): point is T => point !== undefined))];
		return unique.sort((a, b) => a.step - b.step);
	}

	#close(): void {
		this.#kept.push(...this.#openPoints());
		this.#open = undefined;
	}

	/** The kept points, in step order. */
	get points(): T[] {
		return [...this.#kept, ...this.#openPoints()];
	}
}

/** At most 6 points per column (first, last, lowest and highest loss and accuracy); usually fewer. */
export function downsample<T extends SeriesPoint>(points: readonly T[], columns: number): T[] {
	if (points.length <= Math.max(1, columns) * 4) return points.slice();
	const accumulator = new M4Accumulator<T>(points[0]!.step, points.at(-1)!.step, columns);
	for (const point of points) accumulator.add(point);
	return accumulator.points;
}
