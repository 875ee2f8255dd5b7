import { goto } from '$app/navigation';
import { toast } from '$lib/toasts/toasts.svelte';
import { formatLoss } from '$lib/format';
import { isTerminal, type Job } from '$lib/training/job';

/**
 * Terminal transitions already announced in this tab: the jobs feed (every page) and a
 * job's own stream (its monitor) both report them, and the user hears each once.
 * Browser-only state: announce() runs in event handlers, never on the server.
 */
const announced = new Set<string>();

/**
 * A completion, failure or stop toast for `job`, once per job and status in this tab, with a link
 * to the job; a run seen starting only loads the toasts' code.
 */
export function announceTransition(job: Job): void {
	if (!isTerminal(job.status)) {
		// A run seen starting ends in a toast: its code loads now, while the run trains.
		if (job.status === 'running') toast.preload();
		return;
	}
	const key = `${job.id}:${job.status}`;
	if (announced.has(key)) return;
	announced.add(key);

	const href = `/training/jobs/${job.id}`;
	const onJobPage = typeof location !== 'undefined' && location.pathname === href;
	const options = {
		id: key,
		action: onJobPage ? undefined : { label: 'Open', onClick: () => void goto(href) }
	};
	const steps = (n: number) => n.toLocaleString('en');
	if (job.status === 'completed') {
		toast.success('Training completed', {
			...options,
			description: `${job.name}: final loss ${formatLoss(job.latestLoss)} after ${steps(job.currentStep)} steps.`
		});
	} else if (job.status === 'failed') {
		toast.error('Training failed', { ...options, description: `${job.name}: ${job.error ?? 'the run failed.'}` });
	} else {
		toast.warning('Training stopped', {
			...options,
			description: `${job.name} stopped at step ${steps(job.currentStep)} of ${steps(job.totalSteps)}.`
		});
	}
}
