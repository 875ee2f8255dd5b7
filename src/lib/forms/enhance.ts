import { applyAction } from '$app/forms';
import type { ActionResult, SubmitFunction } from '@sveltejs/kit';
import { toast } from '$lib/toasts/toasts.svelte';
import { actionFailure } from './action-failure';

export interface ToastingOptions {
	/** The toast's title when the action is refused or fails. */
	title?: string;
	/**
	 * The page shows an action's `fail()` itself (field errors): those are not toasted, only
	 * what the page cannot show (a cross-site refusal, a crash, no network).
	 */
	failuresShownInline?: boolean;
	/** What `update()` is given for the results the page handles (success and failure). */
	update?: { reset?: boolean; invalidateAll?: boolean };
	/** Before the request; return false to cancel it. */
	before?: (input: Parameters<SubmitFunction>[0]) => boolean | void;
	/** After the result is handled, whatever it was. */
	after?: (result: ActionResult) => void | Promise<void>;
}

/**
 * A submit function for `use:enhance` that never fails silently: a refused or failed action
 * shows an error toast with the reason. A thrown action or a refusal from in front of it
 * (SvelteKit's cross-site check) stays on the page with the toast instead of swapping in
 * an error page, so the user can try again.
 */
export function toastingEnhance(options: ToastingOptions = {}): SubmitFunction {
	return (input) => {
		if (options.before?.(input) === false) {
			input.cancel();
			return;
		}
		// A refusal is toasted: the toasts' code loads alongside the request, not after it.
		toast.preload();
		return async ({ result, update }) => {
			try {
				const reason = actionFailure(result);
				const pageShowsIt = result.type === 'failure' && options.failuresShownInline;
				if (reason !== null && !pageShowsIt) {
					toast.error(options.title ?? 'That did not work', { description: reason });
				}
				if (result.type === 'success' || result.type === 'failure') await update(options.update);
				else if (result.type === 'redirect') await applyAction(result);
			} finally {
				await options.after?.(result);
			}
		};
	};
}
