/* eslint-disable svelte/prefer-svelte-reactivity -- the maps and sets here are either outside
   reactivity on purpose (the series, whose `revision` says when they change) or replaced whole
   in $state.raw, never mutated in place. */
import { reachesEnd, type StepRange } from '$lib/chart/domain';
import { M4Accumulator, VALUES_PER_COLUMN, type SeriesPoint } from '$lib/training/downsample';
import { companionKey, numericValue, type KeySummary, type SeriesValue } from '$lib/training/metrics';
import { streamValue, type StreamRow } from '$lib/training/stream-rows';

/** The server's widest range read (see metrics-query.ts). */
const MAX_WIDTH = 2_500;

type Fetch = typeof fetch;

/** A value as a chart point: the chart reads `loss` as the value (SeriesPoint is M4's shape). */
export type KeyPoint = SeriesPoint;

const toPoint = (value: SeriesValue): KeyPoint => ({ step: value.step, loss: numericValue(value), accuracy: null });

async function readJson<T>(fetcher: Fetch, url: string): Promise<T> {
	const response = await fetcher(url);
	const body = (await response.json().catch(() => ({}))) as T & { error?: string };
	if (!response.ok) throw new Error(body.error ?? `${url} answered ${response.status}.`);
	return body;
}

/**
 * One key of the page: its history (read when its panel first shows), every live value
 * since, the M4 of both at the panel's width, and a zoomed view read from the server.
 * Plain arrays, not deep state: `revision` says when anything changed.
 */
export class KeySeries {
	/** The zoomed step range, or null for the whole run. */
	zoom = $state.raw<StepRange | null>(null);
	loading = $state(false);
	error = $state<string | null>(null);
	/**
	 * The change counter and the latest value in one signal: a live value changes all four, and
	 * each signal set walks the panel's whole chain of deriveds (Svelte marks them one signal at a
	 * time), which with 20 keys a frame was most of the live page's script time.
	 */
	#latest = $state.raw({ revision: 0, lastStep: 0, lastValue: null as number | null, count: 0 });

	#history: KeyPoint[] = [];
	#live: KeyPoint[] = [];
	#needsHistory: boolean;
	#chart: { columns: number; total: number; fed: number; accumulator: M4Accumulator<KeyPoint> } | undefined;
	#zoomed: { points: KeyPoint[]; follow: boolean; request: number; copy?: KeyPoint[]; copiedAt?: number } | undefined;
	#requests = 0;

	constructor(
		readonly key: string,
		private readonly jobId: string,
		summary: KeySummary | undefined,
		private readonly fetcher: Fetch
	) {
		this.#needsHistory = summary !== undefined && summary.count > 0;
		this.#latest = {
			revision: 0,
			lastStep: summary?.lastStep ?? 0,
			lastValue: summary?.lastValue ?? null,
			count: summary?.count ?? 0
		};
	}

	/** Changes whenever anything drawn changed (values, history, zoom). */
	get revision(): number {
		return this.#latest.revision;
	}
	get lastStep(): number {
		return this.#latest.lastStep;
	}
	get lastValue(): number | null {
		return this.#latest.lastValue;
	}
	get count(): number {
		return this.#latest.count;
	}

	/** Marks a change of what is drawn. */
	#changed(): void {
		this.#latest = { ...this.#latest, revision: this.#latest.revision + 1 };
	}

	get group(): string {
		const slash = this.key.indexOf('/');
		return slash > 0 ? this.key.slice(0, slash) : '';
	}

	/** A live value: kept past the last step this key has, so a value is never drawn twice. */
	add(step: number, value: number): void {
		const last = this.#live.at(-1)?.step ?? this.#history.at(-1)?.step ?? 0;
		if (step <= last) return;
		const point = { step, loss: value, accuracy: null };
		this.#live.push(point);
		const zoomed = this.#zoomed;
		if (zoomed && this.zoom) {
			if (zoomed.follow && step > this.zoom[1]) this.zoom = [this.zoom[0], step];
			if (step >= this.zoom[0] && step <= this.zoom[1]) zoomed.points.push(point);
		}
		const latest = this.#latest;
		this.#latest = {
			revision: latest.revision + 1,
			lastStep: Math.max(latest.lastStep, step),
			lastValue: Number.isFinite(value) ? value : null,
			count: latest.count + 1
		};
	}

	/** Reads the history once, downsampled on the server to `columns`; live values already here stay. */
	async loadHistory(columns: number): Promise<void> {
		if (!this.#needsHistory || this.loading) return;
		this.#needsHistory = false;
		this.loading = true;
		try {
			const maxPoints = Math.min(10_000, Math.max(VALUES_PER_COLUMN, columns * VALUES_PER_COLUMN));
			const url = `/api/training/jobs/${this.jobId}/metrics?key=${encodeURIComponent(this.key)}&maxPoints=${maxPoints}`;
			const body = await readJson<{ series: { values: SeriesValue[] }[] }>(this.fetcher, url);
			this.#history = body.series[0]?.values.map(toPoint) ?? [];
			const last = this.#history.at(-1)?.step ?? 0;
			this.#live = this.#live.filter((point) => point.step > last);
			this.#chart = undefined;
			this.#changed();
		} catch (error) {
			this.error = (error as Error).message;
			this.#needsHistory = true;
		} finally {
			this.loading = false;
		}
	}

	/**
	 * The points to draw at `columns` pixel columns over steps 1 to `totalSteps`: M4, updated
	 * incrementally as values arrive, rebuilt when the width or the run's length changes.
	 */
	chartPoints(columns: number, totalSteps: number): KeyPoint[] {
		void this.revision;
		const total = Math.max(totalSteps, this.lastStep, 1);
		if (!this.#chart || this.#chart.columns !== columns || this.#chart.total !== total) {
			this.#chart = { columns, total, fed: 0, accumulator: new M4Accumulator<KeyPoint>(1, total, columns) };
		}
		const chart = this.#chart;
		const all = this.#history.length + this.#live.length;
		for (; chart.fed < all; chart.fed++) {
			const i = chart.fed;
			chart.accumulator.add(i < this.#history.length ? this.#history[i]! : this.#live[i - this.#history.length]!);
		}
		return chart.accumulator.points;
	}

	/** The zoomed view's points: the server's read of the range, then live values inside it. */
	get zoomPoints(): readonly KeyPoint[] | undefined {
		const revision = this.revision;
		const zoomed = this.#zoomed;
		if (!zoomed) return undefined;
		// A new array when it changed: a chart given the same (grown) array would not redraw.
		if (zoomed.copiedAt !== revision) zoomed.copy = [...zoomed.points];
		zoomed.copiedAt = revision;
		return zoomed.copy;
	}

	/**
	 * Zooms to `view` (null: back to the whole run): shows what the page has at once, then
	 * reads the range at full resolution for a chart `columns` wide. A view that reaches the
	 * last step keeps following live values. True once the range's curve is in place (false:
	 * a later zoom took over, or the read failed).
	 */
	async zoomTo(view: StepRange | null, columns: number): Promise<boolean> {
		const request = ++this.#requests;
		this.zoom = view;
		if (!view) {
			this.#zoomed = undefined;
			this.#changed();
			return true;
		}
		// The last read's failure is not this one's.
		this.error = null;
		const follow = reachesEnd(view, this.lastStep);
		const known = [...this.#history, ...this.#live].filter((p) => p.step >= view[0] && p.step <= view[1]);
		this.#zoomed = { points: known, follow, request };
		this.#changed();
		try {
			const width = Math.max(10, Math.min(MAX_WIDTH, Math.round(columns)));
			const url =
				`/api/training/jobs/${this.jobId}/metrics/range?key=${encodeURIComponent(this.key)}` +
				`&fromStep=${view[0]}&toStep=${view[1]}&width=${width}`;
			const body = await readJson<{ values: SeriesValue[] }>(this.fetcher, url);
			if (this.#zoomed?.request !== request) return false;
			const points = body.values.map(toPoint);
			// Live values that arrived while the read was under way.
			const last = points.at(-1)?.step ?? view[0] - 1;
			for (const point of this.#zoomed.points) if (point.step > last) points.push(point);
			this.#zoomed.points = points;
			this.error = null;
			this.#changed();
			return true;
		} catch (error) {
			if (this.#zoomed?.request === request) this.error = (error as Error).message;
			return false;
		}
	}
}

/**
 * Every key of one job in the browser, fed by the page's one event stream (`receiveRows`):
 * a KeySeries each, in the order they first arrived. A key first seen in the stream
 * becomes a new series (and a new panel) at once.
 */
export class MetricPanels {
	keys = $state.raw<string[]>([]);
	#series = new Map<string, KeySeries>();

	constructor(
		private readonly jobId: string,
		private readonly primaryMetric: string,
		summaries: readonly KeySummary[],
		private readonly fetcher: Fetch = (...args) => fetch(...args)
	) {
		for (const summary of summaries) this.#create(summary.key, summary);
		this.keys = [...this.#series.keys()];
	}

	#create(key: string, summary?: KeySummary): KeySeries {
		const series = new KeySeries(key, this.jobId, summary, this.fetcher);
		this.#series.set(key, series);
		return series;
	}

	/** The series of `key`, made when the page has not seen it yet. */
	series(key: string): KeySeries {
		return this.#series.get(key) ?? this.#create(key);
	}

	/** The keys that get a panel: all but the headline's (the primary metric and its companion). */
	get panelKeys(): string[] {
		const headline = new Set([this.primaryMetric, companionKey(this.primaryMetric)]);
		return this.keys.filter((key) => !headline.has(key));
	}

	#pending: StreamRow[] = [];
	#frame = false;

	/**
	 * Rows of the stream, applied once per animation frame: the headline follows each event,
	 * the panels (many charts) at most at the screen's rate, so a burst does not hold up the page.
	 */
	receiveRows(rows: readonly StreamRow[]): void {
		if (typeof requestAnimationFrame === 'undefined') return this.#apply(rows);
		this.#pending.push(...rows);
		if (this.#frame) return;
		this.#frame = true;
		requestAnimationFrame(() => {
			this.#frame = false;
			const pending = this.#pending;
			this.#pending = [];
			this.#apply(pending);
		});
	}

	#apply(rows: readonly StreamRow[]): void {
		let added = false;
		for (const row of rows) {
			for (const key in row.values) {
				let series = this.#series.get(key);
				if (!series) {
					series = this.#create(key);
					added = true;
				}
				series.add(row.step, streamValue(row.values[key]!));
			}
		}
		if (added) this.keys = [...this.#series.keys()];
	}
}

/** Panels in sections by the part of their key before the first `/`; keys without one first. */
export function sectionsOf(keys: readonly string[], filter = ''): { group: string; keys: string[] }[] {
	const needle = filter.trim().toLowerCase();
	const groups = new Map<string, string[]>();
	for (const key of keys) {
		if (needle && !key.toLowerCase().includes(needle)) continue;
		const slash = key.indexOf('/');
		const group = slash > 0 ? key.slice(0, slash) : '';
		groups.set(group, [...(groups.get(group) ?? []), key]);
	}
	return [...groups.entries()]
		.sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))
		.map(([group, keys]) => ({ group, keys }));
}

const SECTIONS_KEY = 'vapor.collapsed-sections';

/** Which sections the reader folded, remembered per browser (not per job: `system` stays folded everywhere). */
export class CollapsedSections {
	collapsed = $state.raw<ReadonlySet<string>>(new Set());

	constructor(private readonly storage: () => Storage | undefined = () => globalThis.localStorage) {}

	load(): void {
		try {
			const stored = JSON.parse(this.storage()?.getItem(SECTIONS_KEY) ?? '[]') as unknown;
			if (Array.isArray(stored)) this.collapsed = new Set(stored.filter((g): g is string => typeof g === 'string'));
		} catch {
			// private mode or a corrupt value: every section open
		}
	}

	toggle(group: string): void {
		const next = new Set(this.collapsed);
		if (next.has(group)) next.delete(group);
		else next.add(group);
		this.collapsed = next;
		try {
			this.storage()?.setItem(SECTIONS_KEY, JSON.stringify([...next]));
		} catch {
			// storage full or denied: the choice lasts until the page closes
		}
	}
}
