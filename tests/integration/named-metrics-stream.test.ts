import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/lib/server/db/migrate';
import { JobEvents } from '../../src/lib/server/events/job-events';
import { ingestPoints } from '../../src/lib/server/ingest/ingest.service';
import { createValidJob } from '../../src/lib/server/jobs/jobs.service';
import { openJobStream, type StreamDeps, type StreamFormat } from '../../src/lib/server/stream/job-stream';
import { parseStreamPosition } from '../../src/lib/server/stream/stream-position';
import { SseParser, type ParsedEvent } from '../../src/lib/training/sse';
import type { StreamRow } from '../../src/lib/training/stream-rows';
import type { NewJob } from '../../src/lib/training/job-input';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../support/databases';

const external: NewJob = {
	source: 'external',
	name: 'script',
	baseModel: 'bert-base',
	dataset: 'imdb',
	epochs: 10,
	stepsPerEpoch: 100,
	learningRate: 3e-4,
	batchSize: 32,
	primaryMetric: 'train/loss'
};

/** A stream opened in process, read event by event as a client would. */
class StreamReader {
	events: ParsedEvent[] = [];
	#parser = new SseParser();
	#reader: ReadableStreamDefaultReader<Uint8Array>;
	#decoder = new TextDecoder();
	#abort = new AbortController();
	ended = false;

	private constructor(readonly response: Response) {
		this.#reader = response.body!.getReader();
	}

	static async open(deps: StreamDeps, jobId: string, lastEventId: string | null, format: StreamFormat) {
		const abort = new AbortController();
		const response = await openJobStream(deps, jobId, parseStreamPosition(lastEventId, null), abort.signal, format);
		const reader = new StreamReader(response);
		reader.#abort = abort;
		return reader;
	}

	/** Reads until `done` holds for the events so far (or the stream ends). */
	async until(done: (events: ParsedEvent[]) => boolean): Promise<ParsedEvent[]> {
		while (!done(this.events) && !this.ended) {
			const { value, done: finished } = await this.#reader.read();
			if (finished) this.ended = true;
			else this.events.push(...this.#parser.push(this.#decoder.decode(value, { stream: true })));
		}
		return this.events;
	}

	get lastEventId(): string {
		return this.#parser.lastEventId;
	}

	close(): void {
		this.#abort.abort();
		void this.#reader.cancel().catch(() => {});
	}
}

const rowsOf = (events: ParsedEvent[]) =>
	events.filter((e) => e.event === 'values').flatMap((e) => JSON.parse(e.data) as StreamRow[]);
const upTo = (position: number) => (events: ParsedEvent[]) =>
	events.some((e) => e.event === 'values' && Number(e.lastEventId) >= position);

describe.each(BACKENDS)('named-metrics stream (%s)', (backend) => {
	let handle: TestDatabase;
	let events: JobEvents;
	let deps: StreamDeps;
	const open: StreamReader[] = [];

	beforeAll(async () => {
		handle = await openTestDatabase(backend);
	});
	beforeEach(async () => {
		for (const reader of open.splice(0)) reader.close();
		await handle.reset();
		await migrateToLatest(handle.db);
		events = new JobEvents();
		deps = {
			db: handle.db,
			bus: events.bus,
			options: { heartbeatMs: 60_000, maxBufferBytes: 4_000_000, retryMs: 100, stallMs: 30_000, historyBatch: 2 }
		};
	});
	afterAll(async () => {
		for (const reader of open.splice(0)) reader.close();
		await handle?.dispose();
	});

	const ingest = (jobId: string, body: unknown) => ingestPoints(handle.db, events, undefined, jobId, body);
	const connect = async (jobId: string, lastEventId: string | null, format: StreamFormat) => {
		const reader = await StreamReader.open(deps, jobId, lastEventId, format);
		open.push(reader);
		return reader;
	};

	it('resumes by position: a val/loss at step 500 committed after train/loss at 501 arrives exactly once', async () => {
		const job = await createValidJob(handle.db, events, external);
		await ingest(job.id, [{ step: 501, key: 'train/loss', value: 0.5 }]);

		const first = await connect(job.id, null, { version: 2, keys: undefined });
		await first.until(upTo(1));
		expect(rowsOf(first.events).map((r) => [r.position, r.step, r.values])).toEqual([[1, 501, { 'train/loss': 0.5 }]]);
		const resumeFrom = first.lastEventId;
		expect(resumeFrom).toBe('1');
		first.close();

		// While nobody listens: an older step of another key, then the next step of the first.
		await ingest(job.id, [{ step: 500, metrics: { 'val/loss': 0.7, 'val/accuracy': 0.8 } }]);
		await ingest(job.id, [{ step: 502, key: 'train/loss', value: 'NaN' }]);

		const second = await connect(job.id, resumeFrom, { version: 2, keys: undefined });
		await second.until(upTo(3));
		// Live from here on: a third commit reaches the open stream through the bus.
		await ingest(job.id, [{ step: 503, key: 'train/loss', value: 0.4 }]);
		await second.until(upTo(4));
		expect(rowsOf(second.events).map((r) => [r.position, r.step, r.values])).toEqual([
			[2, 500, { 'val/loss': 0.7, 'val/accuracy': 0.8 }],
			[3, 502, { 'train/loss': 'NaN' }],
			[4, 503, { 'train/loss': 0.4 }]
		]);
		// The status event comes first, with the position the stream started from.
		expect(second.events[0]).toMatchObject({ event: 'status', lastEventId: '1' });
	});

	it('narrows to ?keys=, and ids still advance over rows without them', async () => {
		const job = await createValidJob(handle.db, events, external);
		await ingest(job.id, [
			{ step: 1, metrics: { 'train/loss': 1, lr: 0.1 } },
			{ step: 2, metrics: { 'train/loss': 0.9, lr: 0.2 } },
			{ step: 100, key: 'val/loss', value: 1.2 }
		]);
		const reader = await connect(job.id, null, { version: 2, keys: new Set(['lr', 'val/loss']) });
		await reader.until(upTo(3));
		expect(rowsOf(reader.events).map((r) => [r.step, r.values])).toEqual([
			[1, { lr: 0.1 }],
			[2, { lr: 0.2 }],
			[100, { 'val/loss': 1.2 }]
		]);
	});

	it("keeps today's stream: metrics events of the primary metric as loss, ids are its steps", async () => {
		const job = await createValidJob(handle.db, events, external);
		await ingest(job.id, [
			{ step: 1, metrics: { 'train/loss': 1, 'train/accuracy': 0.3, lr: 0.1 } },
			{ step: 2, metrics: { 'train/loss': 0.9 } },
			{ step: 100, key: 'val/loss', value: 1.2 }
		]);
		const reader = await connect(job.id, null, { version: 1 });
		const hasStep = (step: number) => (evs: ParsedEvent[]) =>
			evs.some((e) => e.event === 'metrics' && Number(e.lastEventId) >= step);
		await reader.until(hasStep(2));
		await ingest(job.id, [{ step: 3, metrics: { 'train/loss': 0.8, 'train/accuracy': 0.5 } }]);
		await reader.until(hasStep(3));
		const points = reader.events
			.filter((e) => e.event === 'metrics')
			.flatMap((e) => JSON.parse(e.data) as { step: number; loss: number; accuracy: number | null }[]);
		expect(points.map((p) => [p.step, p.loss, p.accuracy])).toEqual([
			[1, 1, 0.3],
			[2, 0.9, null],
			[3, 0.8, 0.5]
		]);
	});

	it("reads today's history in one statement per page, each point with its accuracy, also one posted apart", async () => {
		// A reconnect storm is hundreds of clients reading history at once on the request pool:
		// a page cost four statements (both key rows, the values, the companion's), and the
		// pool queued the clients behind each other for seconds in the chaos soak.
		const job = await createValidJob(handle.db, events, external);
		await ingest(
			job.id,
			Array.from({ length: 10 }, (_, i) => ({ step: i + 1, key: 'train/loss', value: 1 }))
		);
		// The first ten accuracies in rows of their own, as a script that logs them apart does.
		await ingest(
			job.id,
			Array.from({ length: 10 }, (_, i) => ({ step: i + 1, key: 'train/accuracy', value: 0.25 }))
		);
		await ingest(
			job.id,
			Array.from({ length: 2_990 }, (_, i) => ({
				step: i + 11,
				metrics: { 'train/loss': 0.5, 'train/accuracy': 0.75 }
			}))
		);
		let statements = 0;
		const counted: StreamDeps = {
			...deps,
			db: handle.db.withPlugin({
				transformQuery: (args) => (statements++, args.node),
				transformResult: async (args) => args.result
			}),
			options: { ...deps.options, historyBatch: 1_000 }
		};
		const abort = new AbortController();
		const response = await openJobStream(counted, job.id, parseStreamPosition(null, null), abort.signal);
		const reader = response.body!.getReader();
		const parser = new SseParser();
		const decoder = new TextDecoder();
		const points: { step: number; loss: number; accuracy: number | null }[] = [];
		let pages = 0;
		while (points.at(-1)?.step !== 3_000) {
			const { value, done } = await reader.read();
			if (done) break;
			for (const event of parser.push(decoder.decode(value, { stream: true })))
				if (event.event === 'metrics') {
					pages++;
					points.push(...(JSON.parse(event.data) as typeof points));
				}
		}
		abort.abort();
		await reader.cancel().catch(() => {});
		expect(points.map((p) => p.step)).toEqual(Array.from({ length: 3_000 }, (_, i) => i + 1));
		expect(points.slice(0, 10).every((p) => p.loss === 1 && p.accuracy === 0.25)).toBe(true);
		expect(points.slice(10).every((p) => p.loss === 0.5 && p.accuracy === 0.75)).toBe(true);
		// Pages of 16, 32, … up to 1,000: eight. The job and both key rows once (two statements), then one per page.
		expect(pages).toBe(8);
		expect(statements).toBeLessThanOrEqual(2 + pages + 1);
	});
});
