import type { Db } from '../db';
import type { EventBus, JobEvent } from '../events/event-bus';
import { getJob } from '../jobs/jobs.service';
import { log } from '../log';
import { listPoints } from '../metrics/metrics.repository';
import { SseConnection, type SseOptions } from './sse-connection';
import type { StreamPosition } from './stream-position';
import { isTerminal, type Job, type MetricPoint } from '../../training/job';
import { encodeMessage } from '../../training/sse';

export interface StreamDeps {
	db: Db;
	bus: EventBus;
	options: SseOptions & { historyBatch: number };
}

const encoder = new TextEncoder();
/** Tries of one history or gap read before the stream is dropped, with a pause that grows between them. */
const READ_ATTEMPTS = 3;
const READ_RETRY_PAUSE_MS = 250;

/**
 * The frame of a live points event, encoded once however many clients receive it:
 * the bus hands every subscriber the same event object.
 */
const sharedFrames = new WeakMap<JobEvent, Uint8Array>();

function metricsFrame(points: MetricPoint[]): string {
	return encodeMessage({ event: 'metrics', id: String(points.at(-1)!.step), data: JSON.stringify(points) });
}

/**
 * GET /api/training/jobs/[id]/stream. The client's position is "has every step up to
 * `sent`"; everything sent moves it forward by contiguous steps only, so a client that
 * reconnects with its last id gets each step exactly once, in order. Live points come
 * from the in-process bus (no query per client per tick); the database is read only
 * for history and to fill a gap.
 */
export async function openJobStream(
	deps: StreamDeps,
	jobId: string,
	position: StreamPosition,
	signal?: AbortSignal
): Promise<Response> {
	const job = await getJob(deps.db, jobId);
	let sent = position.kind === 'after' ? position.step : position.kind === 'latest' ? job.currentStep : 0;
	if (isTerminal(job.status) && position.kind !== 'start' && sent >= job.currentStep) {
		// Nothing left to send: 204 tells a browser's EventSource to stop reconnecting.
		return new Response(null, { status: 204 });
	}

	const connection = new SseConnection(
		deps.options,
		{
			stream: 'job',
			jobId,
			get after() {
				return sent;
			}
		},
		signal
	);

	/**
	 * A read that fails under load (a deadline, a connection lost) is tried again after a
	 * pause; live events wait behind it in run(). Only when every try fails is the stream
	 * dropped, logged, and the client resumes by its last id.
	 */
	async function readPoints(): Promise<MetricPoint[]> {
		for (let attempt = 1; ; attempt++) {
			try {
				return await listPoints(deps.db, jobId, { afterStep: sent, limit: deps.options.historyBatch });
			} catch (error) {
				if (attempt >= READ_ATTEMPTS || connection.closed) throw error;
				log.warn("could not read a stream's points; trying again", { jobId, after: sent, attempt, error });
				await new Promise((resolve) => setTimeout(resolve, READ_RETRY_PAUSE_MS * attempt));
			}
		}
	}

	async function catchUp(): Promise<void> {
		for (;;) {
			await connection.waitForRoom();
			if (connection.closed) return;
			const page = await readPoints();
			if (page.length === 0 || connection.closed) return;
			connection.send(metricsFrame(page));
			sent = page.at(-1)!.step;
			if (page.length < deps.options.historyBatch) return;
		}
	}

	function sendStatus(current: Job): void {
		// The id repeats the position, so a client that only ever saw status events still resumes right.
		connection.send(encodeMessage({ event: 'status', id: String(sent), data: JSON.stringify(current) }));
		if (isTerminal(current.status) && sent >= current.currentStep) connection.end();
	}

	async function onEvent(event: JobEvent): Promise<void> {
		if (event.type === 'status') {
			if (event.job.currentStep > sent) await catchUp();
			sendStatus(event.job);
			return;
		}
		const fresh = event.points.filter((point) => point.step > sent);
		if (fresh.length === 0) return;
		if (fresh[0]!.step !== sent + 1) return catchUp(); // a gap: the database has the missing steps
		if (fresh.length === event.points.length) {
			let frame = sharedFrames.get(event);
			if (!frame) sharedFrames.set(event, (frame = encoder.encode(metricsFrame(fresh))));
			connection.send(frame);
		} else {
			connection.send(metricsFrame(fresh));
		}
		sent = fresh.at(-1)!.step;
	}

	// Subscribe before reading history, so nothing committed meanwhile is missed;
	// run() keeps history and live events in order.
	connection.onClose(deps.bus.subscribe(jobId, (event) => connection.run(() => onEvent(event))));
	connection.run(async () => {
		sendStatus(job);
		await catchUp();
		if (isTerminal(job.status) && sent >= job.currentStep) connection.end();
	});
	return connection.response;
}
