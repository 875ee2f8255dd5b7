/**
 * "Download PNG" of a chart: the LayerChart canvas (the series) drawn onto an offscreen
 * canvas with the page's background, a title, the legend and the axes, at twice the
 * on-screen size. The axes are SVG on screen, so they are drawn again here from the same
 * tick positions; colours come from the theme's CSS variables, so a dark page exports dark.
 */

export interface PngTick {
	/** Pixels from the plot's left (x ticks) or top (y ticks). */
	at: number;
	label: string;
}

export interface ChartPngSpec {
	title: string;
	subtitle?: string;
	/** The LayerChart canvas: it covers the whole chart box, device pixels. */
	series: HTMLCanvasElement;
	/** The chart box on screen, CSS pixels. */
	width: number;
	height: number;
	/** The plot area inside the chart box. */
	padding: { top: number; right: number; bottom: number; left: number };
	xTicks: PngTick[];
	yTicks: PngTick[];
	/** Ticks of a right-hand axis (accuracy), when there is one. */
	rightTicks?: PngTick[];
	legend: { label: string; color: string }[];
	/** A note under the plot (e.g. about clamped values). */
	note?: string;
}

const SCALE = 2;
const MARGIN = 20;
const TITLE_BAND = 58;

/** The value of a theme colour, e.g. `cssColor('--surface')`, or `hsl(...)` of a `--chart-n` triple. */
export function cssColor(variable: string, element: Element = document.documentElement): string {
	const value = getComputedStyle(element).getPropertyValue(variable).trim();
	return /^\d/.test(value) ? `hsl(${value})` : value;
}

/** Resolves `hsl(var(--chart-3))` and `var(--x)` to colours a canvas understands. */
export function resolveColor(color: string, element: Element = document.documentElement): string {
	return color.replace(/var\((--[\w-]+)\)/g, (_, name: string) =>
		getComputedStyle(element).getPropertyValue(name).trim()
	);
}

export function drawChartPng(spec: ChartPngSpec): Promise<Blob> {
	const root = document.documentElement;
	const background = cssColor('--surface', root);
	const text = cssColor('--text', root);
	const muted = cssColor('--text-muted', root);
	const grid = cssColor('--border', root);
	const font = getComputedStyle(root).fontFamily || 'sans-serif';

	const width = spec.width + MARGIN * 2;
	const height = TITLE_BAND + spec.height + MARGIN + (spec.note ? 18 : 0);
	const canvas = document.createElement('canvas');
	canvas.width = Math.round(width * SCALE);
	canvas.height = Math.round(height * SCALE);
	const ctx = canvas.getContext('2d')!;
	ctx.scale(SCALE, SCALE);

	ctx.fillStyle = background;
	ctx.fillRect(0, 0, width, height);

	// Title, subtitle and legend.
	ctx.textBaseline = 'alphabetic';
	ctx.textAlign = 'left';
	ctx.fillStyle = text;
	ctx.font = `600 16px ${font}`;
	ctx.fillText(spec.title, MARGIN, 28, width - MARGIN * 2);
	ctx.font = `12px ${font}`;
	let x = MARGIN;
	if (spec.subtitle) {
		ctx.fillStyle = muted;
		ctx.fillText(spec.subtitle, MARGIN, 46, width - MARGIN * 2);
		x = Math.min(width - MARGIN - 200, MARGIN + ctx.measureText(spec.subtitle).width + 24);
	}
	for (const entry of spec.legend) {
		ctx.fillStyle = resolveColor(entry.color, root);
		ctx.fillRect(x, 40, 12, 3);
		ctx.fillStyle = muted;
		ctx.fillText(entry.label, x + 17, 46);
		x += 17 + ctx.measureText(entry.label).width + 16;
	}

	const left = MARGIN;
	const top = TITLE_BAND;
	const { padding } = spec;
	const plotWidth = spec.width - padding.left - padding.right;
	const plotHeight = spec.height - padding.top - padding.bottom;

	ctx.save();
	ctx.translate(left, top);
	ctx.font = `11px ${font}`;
	ctx.fillStyle = muted;
	ctx.strokeStyle = grid;
	ctx.lineWidth = 1;

	// Grid lines and y labels.
	ctx.textAlign = 'right';
	ctx.textBaseline = 'middle';
	for (const tick of spec.yTicks) {
		const y = Math.round(padding.top + tick.at) + 0.5;
		ctx.beginPath();
		ctx.moveTo(padding.left, y);
		ctx.lineTo(padding.left + plotWidth, y);
		ctx.stroke();
		ctx.fillText(tick.label, padding.left - 8, y);
	}
	ctx.textAlign = 'left';
	for (const tick of spec.rightTicks ?? [])
		ctx.fillText(tick.label, padding.left + plotWidth + 8, padding.top + tick.at);

	// The x axis rule and labels.
	const baseline = Math.round(padding.top + plotHeight) + 0.5;
	ctx.beginPath();
	ctx.moveTo(padding.left, baseline);
	ctx.lineTo(padding.left + plotWidth, baseline);
	ctx.stroke();
	ctx.textAlign = 'center';
	ctx.textBaseline = 'top';
	for (const tick of spec.xTicks) ctx.fillText(tick.label, padding.left + tick.at, baseline + 6);

	// The series, exactly as drawn on screen.
	ctx.drawImage(spec.series, 0, 0, spec.series.width, spec.series.height, 0, 0, spec.width, spec.height);

	if (spec.note) {
		ctx.textAlign = 'left';
		ctx.textBaseline = 'top';
		ctx.fillText(spec.note, padding.left, spec.height + 4);
	}
	ctx.restore();

	return new Promise((resolve, reject) =>
		canvas.toBlob(
			(blob) => (blob ? resolve(blob) : reject(new Error('The browser could not encode the PNG.'))),
			'image/png'
		)
	);
}

/** Saves a blob through a temporary link, as a download named `fileName`. */
export function saveBlob(blob: Blob, fileName: string): void {
	const url = URL.createObjectURL(blob);
	const link = document.createElement('a');
	link.href = url;
	link.download = fileName;
	document.body.append(link);
	link.click();
	link.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A download name from a job or page title, safe on every file system. */
export function pngFileName(title: string): string {
	const safe = title
		.normalize('NFKD')
		.replace(/[\u0300-\u036f]/g, '')
		.replace(/[^A-Za-z0-9._-]+/g, '-')
		.replace(/-{2,}/g, '-')
		.replace(/^[-.]+|[-.]+$/g, '')
		.slice(0, 80);
	return `${safe || 'chart'}-loss.png`;
}
