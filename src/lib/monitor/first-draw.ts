/** The performance mark set once the first curve has been painted: `npm run bench -- monitor` reads it. */
export const CHART_DRAWN_MARK = 'vapor:chart-drawn';
/** Set once the headline and every panel on screen have painted their curves (the monitor page). */
export const CHARTS_DRAWN_MARK = 'vapor:charts-drawn';
/** Set each time a zoom's full-resolution curve has been painted. */
export const ZOOM_DRAWN_MARK = 'vapor:zoom-drawn';

/** Runs `then` once the frame after the next one has begun: what was set now has been painted by then. */
function afterPaint(then: () => void): void {
	requestAnimationFrame(() => requestAnimationFrame(then));
}

/** Marks `name` after the next paint (see afterPaint). */
export function markAfterPaint(name: string, then?: () => void): void {
	if (typeof requestAnimationFrame === 'undefined') return;
	afterPaint(() => {
		performance.mark(name);
		then?.();
	});
}

let marked = false;
let headlineDrawn = false;
let pendingCharts = 0;
let chartsMarked = false;

function settle(): void {
	if (chartsMarked || !headlineDrawn || pendingCharts > 0) return;
	// A frame's grace: a panel that came on screen in the headline's frame registers in it.
	requestAnimationFrame(() => {
		if (chartsMarked || pendingCharts > 0) return;
		chartsMarked = true;
		performance.mark(CHARTS_DRAWN_MARK);
	});
}

/**
 * Marks the first paint of a curve in this document. Called when points first reach the
 * chart; the canvas draws in the next frame, so the mark waits for the frame after it.
 */
export function markFirstDraw(): void {
	if (marked || typeof requestAnimationFrame === 'undefined') return;
	marked = true;
	markAfterPaint(CHART_DRAWN_MARK, () => {
		headlineDrawn = true;
		settle();
	});
}

/**
 * A chart on screen that has values to draw and has not drawn them yet: CHARTS_DRAWN_MARK
 * waits for it. Call the answer once its curve is there (or it gave up); calling twice is harmless.
 */
export function awaitChartDrawn(): () => void {
	if (chartsMarked || typeof requestAnimationFrame === 'undefined') return () => {};
	pendingCharts++;
	let done = false;
	return () => {
		if (done) return;
		done = true;
		afterPaint(() => {
			pendingCharts--;
			settle();
		});
	};
}
