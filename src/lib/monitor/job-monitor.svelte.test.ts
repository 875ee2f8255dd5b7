import { describe, expect, it } from 'vitest';
import type { Job, MetricPoint } from '$lib/training/job';
import { JobMonitor, type EventSourceLike, type Transition } from './job-monitor.svelte';

const job: Job = {
	id: 'j1',
	name: 'run',
	baseModel: 'bert-base',
	dataset: 'imdb',
	epochs: 1,
	stepsPerEpoch: 100,
	totalSteps: 100,
	learningRate: 3e-4,
	batchSize: 32,
	status: 'running',
	source: 'simulated',
	createdAt: '2026-01-01T00:00:00.000Z',
	startedAt: '2026-01-01T00:00:00.000Z',
	finishedAt: null,
	error: null,
	currentStep: 2,
	latestLoss: 1,
	latestAccuracy: 0.5,
	tags: [],
	note: '',
	archivedAt: null,
	primaryMetric: 'loss'
};
const point = (step: number, loss = 1 / step): MetricPoint => ({
	step,
	epoch: 1,
	loss,
	accuracy: 0.5,
	recordedAt: '2026-01-01T00:00:00.000Z'
});

/** A scripted stand-in for the browser's EventSource (the real one is exercised in Playwright). */
class ScriptedSource implements EventSourceLike {
	readyState = 0;
	onopen: ((event: Event) => void) | null = null;
	onerror: ((event: Event) => void) | null = null;
	listeners = new Map<string, (event: MessageEvent<string>) => void>();
	constructor(readonly url: string) {}
	addEventListener(type: string, listener: (event: MessageEvent<string>) => void) {
		this.listeners.set(type, listener);
	}
	emit(type: string, data: unknown) {
		this.listeners.get(type)!(new MessageEvent(type, { data: JSON.stringify(data) }));
	}
	close() {
		this.readyState = 2;
	}
}

function monitor(history = [point(1), point(2)]) {
	const transitions: Transition[] = [];
	let source!: ScriptedSource;
	const m = new JobMonitor(job, history, {
		onTransition: (t) => transitions.push(t),
		openEventSource: (url) => (source = new ScriptedSource(url))
	});
	m.connect();
	return { m, transitions, source: () => source };
}

describe('JobMonitor', () => {
	it('follows the stream from the last step it loaded with', () => {
		const { source } = monitor();
		expect(source().url).toBe('/api/training/jobs/j1/stream?after=2');
	});

	it('appends live points once each, in order, and keeps the stats current', () => {
		const { m, source } = monitor();
		source().emit('metrics', [point(2), point(3)]);
		source().emit('metrics', [point(3), point(4)]);
		source().emit('metrics', [point(1)]);
		expect(m.points.map((p) => p.step)).toEqual([1, 2, 3, 4]);
		expect(m.job).toMatchObject({ currentStep: 4, latestLoss: 0.25 });
		expect(m.revision).toBe(2);
	});

	it('reports each status change once, not the status it loaded with', () => {
		const { m, transitions, source } = monitor();
		source().emit('status', job);
		source().emit('status', { ...job, status: 'completed' });
		source().emit('status', { ...job, status: 'completed' });
		expect(transitions.map((t) => [t.from, t.to])).toEqual([['running', 'completed']]);
		expect(m.job.status).toBe('completed');
	});

	it('says when the job’s primary metric changes (its first values chose another), once', () => {
		const changed: string[] = [];
		const m = new JobMonitor({ ...job, status: 'queued' }, [], {
			openEventSource: (url) => new ScriptedSource(url),
			onPrimaryMetric: (next) => changed.push(next.primaryMetric)
		});
		m.receiveStatus({ ...job, primaryMetric: 'train/loss' });
		m.receiveStatus({ ...job, primaryMetric: 'train/loss', currentStep: 5 });
		expect(changed).toEqual(['train/loss']);
	});

	it('shows the connection state: live, reconnecting, and ended when the server says 204', () => {
		const { m, source } = monitor();
		expect(m.connection).toBe('connecting');
		source().onopen!(new Event('open'));
		expect(m.connection).toBe('live');
		source().readyState = 0;
		source().onerror!(new Event('error'));
		expect(m.connection).toBe('reconnecting');
		source().readyState = 2;
		source().onerror!(new Event('error'));
		expect(m.connection).toBe('ended');
	});

	it('ends quietly after a terminal status and the last point: no "Reconnecting…" for an expected end', () => {
		const { m, source } = monitor();
		source().onopen!(new Event('open'));
		source().emit('status', { ...job, status: 'completed', currentStep: 3 });
		// The final status came before the final point: still following.
		expect(m.connection).toBe('live');
		source().emit('metrics', [point(3)]);
		expect(m.finished).toBe(true);
		expect(m.connection).toBe('ended');
		expect(source().readyState).toBe(2);
		// The server closing the stream after that is no fault.
		source().onerror!(new Event('error'));
		expect(m.connection).toBe('ended');
	});

	it('draws a spike however many points arrive, updating incrementally', () => {
		const { m, source } = monitor([]);
		for (let step = 1; step <= 100; step++) source().emit('metrics', [point(step, step === 57 ? 99 : 1)]);
		const drawn = m.chartPoints(10);
		expect(drawn.length).toBeLessThanOrEqual(60);
		expect(drawn.some((p) => p.loss === 99)).toBe(true);
		expect(m.chartPoints(10)).toEqual(drawn);
	});
});

describe('JobMonitor on the named-metrics stream', () => {
	it('follows v=2 from its position and takes the primary metric, its companion as accuracy', () => {
		let source!: ScriptedSource;
		const heard: string[][] = [];
		const m = new JobMonitor({ ...job, primaryMetric: 'train/loss' }, [point(1)], {
			position: 7,
			onRows: (rows) => heard.push(rows.flatMap((row) => Object.keys(row.values))),
			openEventSource: (url) => (source = new ScriptedSource(url))
		});
		m.connect();
		expect(source.url).toBe('/api/training/jobs/j1/stream?v=2&after=7');
		const row = (position: number, step: number, values: Record<string, number | string>) => ({
			position,
			step,
			epoch: 1,
			recordedAt: '2026-01-01T00:00:00.000Z',
			values
		});
		source.emit('values', [
			row(8, 1, { 'train/loss': 9 }),
			row(9, 2, { 'train/loss': 0.5, 'train/accuracy': 0.7, lr: 0.001 }),
			row(10, 100, { 'val/loss': 0.6 }),
			row(11, 3, { 'train/loss': 'NaN' })
		]);
		expect(heard).toEqual([['train/loss', 'train/loss', 'train/accuracy', 'lr', 'val/loss', 'train/loss']]);
		// Step 1 was already drawn; NaN stays NaN (a gap with a marker).
		expect(m.points.map((p) => [p.step, p.accuracy])).toEqual([
			[1, 0.5],
			[2, 0.7],
			[3, null]
		]);
		expect(m.points[2]!.loss).toBeNaN();
		expect(m.job.currentStep).toBe(3);
	});
});
