/** Display formats shared by the pages; Intl does the locale work. */

export function formatLoss(value: number | null | undefined): string {
	return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(4) : '—';
}

export function formatAccuracy(value: number | null | undefined): string {
	return typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : '—';
}

export function formatLearningRate(value: number): string {
	return value < 0.001 ? value.toExponential(0) : String(value);
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
	['year', 365 * 24 * 3600_000],
	['month', 30 * 24 * 3600_000],
	['day', 24 * 3600_000],
	['hour', 3600_000],
	['minute', 60_000]
];

/** "5 minutes ago", "yesterday", "just now". */
export function formatRelative(iso: string, now = Date.now()): string {
	const delta = new Date(iso).getTime() - now;
	for (const [unit, ms] of UNITS) {
		if (Math.abs(delta) >= ms) return relative.format(Math.round(delta / ms), unit);
	}
	return 'just now';
}

const absolute = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });

export function formatDateTime(iso: string): string {
	return absolute.format(new Date(iso));
}
