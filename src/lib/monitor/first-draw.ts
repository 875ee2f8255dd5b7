/** The performance mark set once the first curve has been painted: `npm run bench -- monitor` reads it. */
export const CHART_DRAWN_MARK = 'vapor:chart-drawn';

let marked = false;

/**
 * Marks the first paint of a curve in this document. Called when points first reach the
 * chart; the canvas draws in the next frame, so the mark waits for the frame after it.
 */
export function markFirstDraw(): void {
	if (marked || typeof requestAnimationFrame === 'undefined') return;
	marked = true;
	requestAnimationFrame(() => requestAnimationFrame(() => performance.mark(CHART_DRAWN_MARK)));
}
