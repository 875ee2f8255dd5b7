/**
 * Min/max-preserving downsampling (M4: Jugel et al., "M4: A Visualization-Oriented Time
 * Series Data Aggregation", VLDB 2014). The x range is cut into as many columns as the
 * chart has pixels; each column keeps its first and last point and the points where
 * each series reaches its minimum and maximum. Drawn as a line, the result covers
 * exactly the pixels the full series would, so a one-step spike is never hidden, which
 * the sampling of other trackers (every n-th point, or LTTB alone) cannot promise.
 */

export interface SeriesPoint {
	step: number;
	loss: number;
	accuracy: number | null;
}

/**
 * Downsamples points as they arrive, in step order, over a fixed step range (a job's
 * run length): a column, once passed, never changes, so each new point costs O(1).
 */
export class M4Accumulator<T extends SeriesPoint> {
	#kept: T[] = [];
	#column = -1;
	#open: { first: T; last: T; minLoss: T; maxLoss: T; minAccuracy?: T; maxAccuracy?: T } | undefined;

	constructor(
		private readonly firstStep: number,
		private readonly lastStep: number,
		private readonly columns: number
	) {}

	#columnOf(step: number): number {
		const columns = Math.max(1, Math.floor(this.columns));
		const span = Math.max(1, this.lastStep - this.firstStep + 1);
		return Math.max(0, Math.min(columns - 1, Math.floor(((step - this.firstStep) * columns) / span)));
	}

	add(point: T): void {
		const column = this.#columnOf(point.step);
		const open = this.#open;
		if (!open || column !== this.#column) {
			this.#close();
			this.#column = column;
			const withAccuracy = point.accuracy === null ? undefined : point;
			this.#open = { first: point, last: point, minLoss: point, maxLoss: point, minAccuracy: withAccuracy, maxAccuracy: withAccuracy };
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
