import { DEFAULT_SMOOTHING, parseSmoothing } from '$lib/training/smoothing';

const STORAGE_KEY = 'vapor.chart-settings';

/**
 * How the loss charts draw (smoothing, log scale), shared by the monitor and the compare
 * page and kept in localStorage, so a reload or another job keeps the reader's choice.
 * The server renders the defaults; the browser applies the stored values on mount.
 */
export class ChartSettings {
	smoothing = $state(DEFAULT_SMOOTHING);
	logScale = $state(false);

	constructor(private readonly storage: () => Storage | undefined = () => globalThis.localStorage) {}

	/** Reads the stored settings; anything unreadable keeps the default. */
	load(): void {
		try {
			const stored = JSON.parse(this.storage()?.getItem(STORAGE_KEY) ?? '{}') as {
				smoothing?: unknown;
				logScale?: unknown;
			};
			this.smoothing = parseSmoothing(
				stored.smoothing === undefined ? null : String(stored.smoothing),
				DEFAULT_SMOOTHING
			);
			this.logScale = stored.logScale === true;
		} catch {
			// private mode or a corrupt value: the defaults stand
		}
	}

	save(): void {
		try {
			this.storage()?.setItem(STORAGE_KEY, JSON.stringify({ smoothing: this.smoothing, logScale: this.logScale }));
		} catch {
			// storage full or denied: the setting lasts until the page closes
		}
	}
}
