import { epochOfStep } from './curve';
import type { Job, JobStatus } from './job';

/**
 * Progress and ETA. The ETA assumes the rest of the run goes at the pace so far: the
 * elapsed time scaled up to 100 %, minus what has elapsed.
 */

export function progressPercent(currentStep: number, totalSteps: number): number {
	if (totalSteps <= 0) return 0;
	return Math.min(100, Math.max(0, (currentStep / totalSteps) * 100));
}

/**
 * Remaining time in ms: estimatedTotal = elapsed / (progress / 100), ETA = estimatedTotal − elapsed.
 * Null before it means anything (no progress or no time elapsed yet).
 */
export function etaMs(elapsedMs: number, percent: number): number | null {
	if (!(percent > 0) || !(elapsedMs > 0)) return null;
	const estimatedTotal = elapsedMs / (percent / 100);
	return Math.max(0, estimatedTotal - elapsedMs);
}

/** "1h 02m 03s", "4m 05s", "12s". */
export function formatDuration(ms: number): string {
	const totalSeconds = Math.max(0, Math.round(ms / 1000));
	const hours = Math.floor(totalSeconds / 3600);
	const minutes = Math.floor((totalSeconds % 3600) / 60);
	const seconds = totalSeconds % 60;
	const pad = (n: number) => String(n).padStart(2, '0');
	if (hours > 0) return `${hours}h ${pad(minutes)}m ${pad(seconds)}s`;
	if (minutes > 0) return `${minutes}m ${pad(seconds)}s`;
	return `${seconds}s`;
}

export interface ProgressSummary {
	epoch: number;
	percent: number;
	elapsedMs: number;
	/** What the ETA cell shows: a duration, "—" before it means anything, or the end state. */
	etaLabel: string;
	/**
	 * An external run that went on past its planned steps (the API accepts that): the page
	 * says "planned N" rather than "Step 400 / 200", and no ETA is known.
	 */
	pastPlan: boolean;
}

const END_LABELS: Partial<Record<JobStatus, string>> = { completed: 'Complete', failed: 'Failed', stopped: 'Stopped' };

/** Everything the stats grid shows about progress, at time `now`. */
export function summarizeProgress(job: Job, now: number): ProgressSummary {
	const percent = progressPercent(job.currentStep, job.totalSteps);
	const started = job.startedAt ? Date.parse(job.startedAt) : undefined;
	const ended = job.finishedAt ? Date.parse(job.finishedAt) : now;
	const elapsedMs = started === undefined ? 0 : Math.max(0, ended - started);
	const pastPlan = job.currentStep > job.totalSteps;
	const remaining = job.status === 'running' && !pastPlan ? etaMs(elapsedMs, percent) : null;
	const runningLabel = pastPlan ? 'Past the plan' : remaining === null ? '—' : formatDuration(remaining);
	return {
		epoch: job.currentStep > 0 ? epochOfStep(job.currentStep, job.stepsPerEpoch) : 0,
		percent,
		elapsedMs,
		etaLabel: END_LABELS[job.status] ?? runningLabel,
		pastPlan
	};
}
