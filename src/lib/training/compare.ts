/**
 * The compare page's selection and its time axis: pure, shared by the jobs list (which builds
 * the link), the server (which checks the ids) and the chart.
 */

import { isUuid } from '../uuid';

/** At most this many runs on one chart: one colour each, --chart-1 … --chart-10. */
export const MAX_COMPARE = 10;

export interface CompareIds {
	/** Valid job ids, lowercased, first occurrence kept, at most MAX_COMPARE. */
	ids: string[];
	/** Entries that are not job ids at all (shown back, shortened). */
	notIds: string[];
	/** Valid ids beyond the first MAX_COMPARE. */
	overLimit: string[];
}

/** Reads `?ids=a,b,c`: commas or spaces between ids, blanks and repeats ignored. */
export function parseCompareIds(raw: string | null | undefined): CompareIds {
	const result: CompareIds = { ids: [], notIds: [], overLimit: [] };
	const seen = new Set<string>();
	for (const part of (raw ?? '').split(/[\s,]+/)) {
		const entry = part.trim();
		if (entry === '') continue;
		if (!isUuid(entry)) {
			result.notIds.push(entry.length > 40 ? `${entry.slice(0, 40)}…` : entry);
			continue;
		}
		const id = entry.toLowerCase();
		if (seen.has(id)) continue;
		seen.add(id);
		(result.ids.length < MAX_COMPARE ? result.ids : result.overLimit).push(id);
	}
	return result;
}

/** The compare page's address for these ids (and an x axis other than the default). */
export function compareHref(ids: readonly string[], x: XMode = 'step'): string {
	const params = new URLSearchParams({ ids: ids.join(',') });
	if (x !== 'step') params.set('x', x);
	return `/training/compare?${params.toString().replaceAll('%2C', ',')}`;
}

/** Adds or removes an id, refusing to go past MAX_COMPARE: `refused` is then true and the selection unchanged. */
export function toggleSelection(selected: readonly string[], id: string): { selected: string[]; refused: boolean } {
	if (selected.includes(id)) return { selected: selected.filter((existing) => existing !== id), refused: false };
	if (selected.length >= MAX_COMPARE) return { selected: [...selected], refused: true };
	return { selected: [...selected, id], refused: false };
}

export type XMode = 'step' | 'time';

export function parseXMode(raw: string | null | undefined): XMode {
	return raw === 'time' ? 'time' : 'step';
}

/** The CSS colour of the n-th run (0-based) on a chart. */
export function seriesColor(index: number, alpha?: number): string {
	const variable = `var(--chart-${(index % MAX_COMPARE) + 1})`;
	return alpha === undefined ? `hsl(${variable})` : `hsl(${variable} / ${alpha})`;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Round steps for a time axis: 1, 2, 5, 10, 15, 30 s; 1, 2, 5, 10, 15, 30 min; 1, 2, 3, 6, 12 h; 1, 2, 7 days… */
const TIME_STEPS = [
	1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800
].map((seconds) => seconds * SECOND);

/** Ticks for a relative-time axis over [0, end] ms, about one per `spacing` pixels of `width`. */
export function timeTicks(end: number, width: number, spacing = 90): number[] {
	if (!(end > 0)) return [0];
	const count = Math.max(2, Math.floor(width / spacing));
	const raw = end / count;
	const step = TIME_STEPS.find((candidate) => candidate >= raw) ?? Math.ceil(raw / (7 * DAY)) * 7 * DAY;
	const ticks: number[] = [];
	for (let value = 0; value <= end + 1e-6; value += step) ticks.push(value);
	return ticks;
}

/** Elapsed time as a short label: "0s", "45s", "2m 30s", "12m", "1h 05m", "3d 4h". */
export function formatElapsed(ms: number): string {
	const total = Math.max(0, Math.round(ms / SECOND));
	const days = Math.floor(total / 86400);
	const hours = Math.floor((total % 86400) / 3600);
	const minutes = Math.floor((total % 3600) / 60);
	const seconds = total % 60;
	if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
	if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
	if (minutes > 0) return seconds > 0 ? `${minutes}m ${String(seconds).padStart(2, '0')}s` : `${minutes}m`;
	return `${seconds}s`;
}

/**
 * The compare page's metric choices from each run's keys: the keys every run has, in the
 * first run's order, then the others by name.
 */
export function orderCompareKeys(keysPerRun: readonly (readonly string[])[]): { shared: string[]; others: string[] } {
	if (keysPerRun.length === 0) return { shared: [], others: [] };
	const sets = keysPerRun.map((keys) => new Set(keys));
	const shared = keysPerRun[0]!.filter((key) => sets.every((set) => set.has(key)));
	const sharedSet = new Set(shared);
	const others = [...new Set(keysPerRun.flat())]
		.filter((key) => !sharedSet.has(key))
		.sort((a, b) => a.localeCompare(b));
	return { shared, others };
}
