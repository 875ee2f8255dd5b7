import type { Job } from '$lib/training/job';

/** A job as the feeds carry it, for the live stores' unit tests. */
export const job = (id: string, status: Job['status'], overrides: Partial<Job> = {}): Job => ({
	id,
	name: id,
	baseModel: 'bert-base',
	dataset: 'imdb',
	epochs: 1,
	stepsPerEpoch: 100,
	totalSteps: 100,
	learningRate: 3e-4,
	batchSize: 32,
	status,
	source: 'simulated',
	createdAt: '2026-01-01T00:00:00.000Z',
	startedAt: null,
	finishedAt: null,
	error: null,
	currentStep: 0,
	latestLoss: null,
	latestAccuracy: null,
	primaryMetric: 'loss',
	tags: [],
	note: '',
	archivedAt: null,
	...overrides
});
