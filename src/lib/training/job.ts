/** Job shapes shared by the server, the browser and external consumers of the API. */

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'stopped'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Who writes a job's points: the built-in simulator, or a training script through the API. */
export const JOB_SOURCES = ['simulated', 'external'] as const;
export type JobSource = (typeof JOB_SOURCES)[number];

export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'stopped'];
export const STEPS_PER_EPOCH = 100;

export function isTerminal(status: JobStatus): boolean {
	return TERMINAL_STATUSES.includes(status);
}

/** A job as the JSON API returns it: camelCase, timestamps as ISO 8601 strings. */
export interface Job {
	id: string;
	name: string;
	baseModel: string;
	dataset: string;
	epochs: number;
	stepsPerEpoch: number;
	totalSteps: number;
	learningRate: number;
	batchSize: number;
	status: JobStatus;
	source: JobSource;
	createdAt: string;
	startedAt: string | null;
	finishedAt: string | null;
	error: string | null;
	currentStep: number;
	latestLoss: number | null;
	latestAccuracy: number | null;
	/** The metric key shown as "loss" (headline chart, stats, list, toasts); its companion (loss → accuracy) as "accuracy". */
	primaryMetric: string;
}

/** One recorded training step. */
export interface MetricPoint {
	step: number;
	epoch: number;
	loss: number;
	accuracy: number | null;
	recordedAt: string;
}

/** The latest point of a job, as the all-jobs feed sends it. */
export interface JobProgress {
	id: string;
	primaryMetric: string;
	currentStep: number;
	latestLoss: number | null;
	latestAccuracy: number | null;
}
