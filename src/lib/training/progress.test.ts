import { describe, expect, it } from 'vitest';
import { etaMs, formatDuration, progressPercent, summarizeProgress } from './progress';

describe('progress and ETA', () => {
	it('computes percent of total steps, clamped', () => {
		expect(progressPercent(150, 300)).toBe(50);
		expect(progressPercent(0, 300)).toBe(0);
		expect(progressPercent(400, 300)).toBe(100);
		expect(progressPercent(5, 0)).toBe(0);
	});

	it('estimates the remaining time as elapsed / progress − elapsed', () => {
		// 25 % done after 60 s: 240 s in all, 180 s left.
		expect(etaMs(60_000, 25)).toBe(180_000);
		expect(etaMs(60_000, 100)).toBe(0);
	});

	it('has no ETA before it means anything', () => {
		expect(etaMs(0, 10)).toBeNull();
		expect(etaMs(10_000, 0)).toBeNull();
	});

	it('formats durations', () => {
		expect(formatDuration(12_400)).toBe('12s');
		expect(formatDuration(245_000)).toBe('4m 05s');
		expect(formatDuration(3_723_000)).toBe('1h 02m 03s');
	});
});

describe('summarizeProgress', () => {
	const base = {
		id: 'x',
		name: 'x',
		baseModel: 'bert-base',
		dataset: 'imdb',
		epochs: 3,
		stepsPerEpoch: 100,
		totalSteps: 300,
		learningRate: 3e-4,
		batchSize: 32,
		source: 'simulated',
		createdAt: '2026-01-01T00:00:00.000Z',
		error: null,
		latestLoss: null,
		latestAccuracy: null,
		primaryMetric: 'loss'
	} as const;
	const start = Date.parse('2026-01-01T00:01:00.000Z');

	it('shows no ETA for a queued job', () => {
		const summary = summarizeProgress(
			{ ...base, status: 'queued', startedAt: null, finishedAt: null, currentStep: 0 },
			start
		);
		expect(summary).toEqual({ epoch: 0, percent: 0, elapsedMs: 0, etaLabel: '—', pastPlan: false });
	});

	it('estimates the remaining time of a running job from elapsed time and progress', () => {
		const job = {
			...base,
			status: 'running' as const,
			startedAt: '2026-01-01T00:01:00.000Z',
			finishedAt: null,
			currentStep: 150
		};
		expect(summarizeProgress(job, start + 60_000)).toEqual({
			epoch: 2,
			percent: 50,
			elapsedMs: 60_000,
			etaLabel: '1m 00s',
			pastPlan: false
		});
	});

	it('says a run that went past its plan is past it, with no ETA', () => {
		const job = {
			...base,
			source: 'external' as const,
			status: 'running' as const,
			startedAt: '2026-01-01T00:01:00.000Z',
			finishedAt: null,
			currentStep: 400
		};
		expect(summarizeProgress(job, start + 60_000)).toEqual({
			epoch: 4,
			percent: 100,
			elapsedMs: 60_000,
			etaLabel: 'Past the plan',
			pastPlan: true
		});
	});

	it('names the end state instead of an ETA, and stops the clock at the finish', () => {
		const finished = {
			...base,
			startedAt: '2026-01-01T00:01:00.000Z',
			finishedAt: '2026-01-01T00:02:00.000Z',
			currentStep: 300
		};
		expect(summarizeProgress({ ...finished, status: 'completed' }, start + 999_999)).toMatchObject({
			elapsedMs: 60_000,
			etaLabel: 'Complete',
			epoch: 3
		});
		expect(summarizeProgress({ ...finished, status: 'failed' }, start).etaLabel).toBe('Failed');
		expect(summarizeProgress({ ...finished, status: 'stopped' }, start).etaLabel).toBe('Stopped');
	});
});
