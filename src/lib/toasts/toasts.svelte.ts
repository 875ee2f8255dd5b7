import { tick } from 'svelte';
import type { ExternalToast } from 'svelte-sonner';

type Sonner = typeof import('svelte-sonner');
type Kind = 'success' | 'error' | 'warning';

/**
 * The page's toasts. svelte-sonner (about 9 kB gzip) is not on the path to a page's first
 * paint: the first toast imports it and mounts its Toaster (through `Toasts.svelte` in the
 * root layout), and only then is the toast raised, so toasts asked for while it loads are
 * shown, in order, once it is there. Browser-only: toasts come from event handlers and streams.
 */
class Toasts {
	/** svelte-sonner's Toaster once the first toast has loaded it; the root layout mounts it. */
	toaster = $state.raw<Sonner['Toaster']>();
	#ready: Promise<Sonner['toast']> | undefined;

	#load(): Promise<Sonner['toast']> {
		this.#ready ??= import('svelte-sonner').then(
			async ({ Toaster, toast }) => {
				this.toaster = Toaster;
				await tick();
				// The Toaster's live region must be in the accessibility tree before a toast is
				// added to it, or a screen reader does not announce the first one.
				await new Promise((resolve) => setTimeout(resolve, LIVE_REGION_DELAY_MS));
				return toast;
			},
			(error: unknown) => {
				// A failed chunk load (a deploy replaced it, the network dropped): the next toast tries again.
				this.#ready = undefined;
				throw error;
			}
		);
		return this.#ready;
	}

	/**
	 * Starts loading svelte-sonner when a toast is likely soon (a form sent, a run seen
	 * starting), so that one is not held up by the download; harmless to call often.
	 */
	preload(): void {
		if (typeof window === 'undefined') return;
		this.#load().catch(() => {});
	}

	#show(kind: Kind, title: string, options?: ExternalToast): void {
		if (typeof window === 'undefined') return;
		this.#load().then(
			(toast) => toast[kind](title, options),
			(error: unknown) => console.error(`Could not show the toast "${title}":`, error)
		);
	}

	success = (title: string, options?: ExternalToast) => this.#show('success', title, options);
	error = (title: string, options?: ExternalToast) => this.#show('error', title, options);
	warning = (title: string, options?: ExternalToast) => this.#show('warning', title, options);
}

/** Long enough for the accessibility tree to take in a new live region, short beside a toast's 4 s. */
const LIVE_REGION_DELAY_MS = 100;

export const toast = new Toasts();
