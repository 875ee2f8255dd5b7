import { sql } from 'kysely';
import type { Db } from '../db';
import type { EventBus, JobEvent } from '../events/event-bus';
import { getJob } from '../jobs/jobs.service';
import { log } from '../log';
import { findPointKeys, listPoints, type PointKeys } from '../metrics/curve.service';
import { keyNames, listRowsAfter, type StoredRow } from '../metrics/metrics.repository';
import { historyPageSizes } from './history-pages';
import { SseConnection, type SseOptions } from './sse-connection';
import type { StreamPosition } from './stream-position';
import { isTerminal, type Job, type MetricPoint } from '../../training/job';
import { legacyPoints, type CommittedRow } from '../../training/metrics';
import { encodeMessage } from '../../training/sse';
import { rowsFrame } from '../../training/stream-rows';

export interface StreamDeps {
	db: Db;
	bus: EventBus;
	options: SseOptions & { historyBatch: number };
}

/**
 * Version 1 (the default, as before named metrics): `metrics` events of today's points
 * (the primary metric as loss, its companion as accuracy), ids are steps. Version 2
 * (`?v=2`): `values` events of every key (or of `keys`), ids are the job's positions.
 */
export type StreamFormat = { version: 1 } | { version: 2; keys: ReadonlySet<string> | undefined };

const encoder = new TextEncoder();
/** Tries of one history or gap read before the stream is dropped, with a pause that grows between them. */
const READ_ATTEMPTS = 3;
const READ_RETRY_PAUSE_MS = 250;

/** A live event's frame, encoded once however many clients of one format receive it. */
const sharedFrames = new WeakMap<JobEvent, Uint8Array>();
const sharedRowFrames = new WeakMap<JobEvent, Uint8Array>();

function metricsFrame(points: MetricPoint[]): string {
	return encodeMessage({ event: 'metrics', id: String(points.at(-1)!.step), data: JSON.stringify(points) });
}

async function lastPosition(db: Db, jobId: string): Promise<number> {
	const { rows } = await sql<{ p: number }>`select metric_position as p from jobs where id = ${jobId}`.execute(db);
	return rows[0]?.p ?? 0;
}

/**
 * GET /api/training/jobs/[id]/stream. The client's position is "has everything up to
 * `sent`" (a step of the primary metric in version 1, a position in version 2); what is
 * sent moves it forward contiguously only, so a client that reconnects with its last id
 * gets each value exactly once, in order, whatever the order its keys were committed in.
 * Live rows come from the in-process bus (no query per client per tick); the database
 * is read only for history and to fill a gap.
 */
export async function openJobStream(
	deps: StreamDeps,
	jobId: string,
	position: StreamPosition,
	signal?: AbortSignal,
	format: StreamFormat = { version: 1 }
): Promise<Response> {
	const job = await getJob(deps.db, jobId);
	// Version 1 reads its key rows with its end, once, and its history pages reuse them.
	const pointKeys: PointKeys = { primary: undefined, companion: undefined };
	const end = async () => {
		if (format.version !== 1) return lastPosition(deps.db, job.id);
		Object.assign(pointKeys, await findPointKeys(deps.db, job));
		return pointKeys.primary?.last_step ?? 0;
	};
	let last = await end();
	let sent = position.kind === 'after' ? position.step : position.kind === 'latest' ? last : 0;
	if (isTerminal(job.status) && position.kind !== 'start' && sent >= last) {
		// Nothing left to send: 204 tells a browser's EventSource to stop reconnecting.
		return new Response(null, { status: 204 });
	}

	const connection = new SseConnection(
		deps.options,
		{
			stream: 'job',
			jobId,
			version: format.version,
			get after() {
				return sent;
			}
		},
		signal
	);

	/**
	 * A read that fails under load (a deadline, a connection lost) is tried again after a
	 * pause; live events wait behind it in run(). Only when every try fails is the stream
	 * dropped (run() logs it), and the client resumes by its last id.
	 */
	async function retried<T>(read: () => Promise<T>): Promise<T> {
		for (let attempt = 1; ; attempt++) {
			try {
				return await read();
			} catch (error) {
				if (attempt >= READ_ATTEMPTS || connection.closed) throw error;
				log.warn("could not read a stream's points; trying again", { jobId, after: sent, attempt, error });
				await new Promise((resolve) => setTimeout(resolve, READ_RETRY_PAUSE_MS * attempt));
			}
		}
	}

	/** The position of the last live row seen (version 1 tracks gaps by it). */
	let seenPosition: number | undefined;
	let names = new Map<number, string>();

	async function toRows(stored: StoredRow[]): Promise<CommittedRow[]> {
		if (stored.some((row) => row.keys.some((no) => !names.has(no)))) names = await keyNames(deps.db, jobId);
		return stored.map((row) => {
			const values: Record<string, number> = {};
			row.keys.forEach((no, i) => (values[names.get(no) ?? String(no)] = row.vals[i]!));
			return {
				position: row.position,
				step: row.step,
				epoch: row.epoch,
				recordedAt: new Date(row.recorded_at).toISOString(),
				values
			};
		});
	}

	function sendRows(rows: readonly CommittedRow[], shared?: JobEvent): void {
		if (format.version !== 2 || rows.length === 0) return;
		const upTo = rows.at(-1)!.position;
		if (shared && !format.keys) {
			let frame = sharedRowFrames.get(shared);
			if (!frame) sharedRowFrames.set(shared, (frame = encoder.encode(rowsFrame(rows, undefined, upTo)!)));
			connection.send(frame);
		} else {
			const frame = rowsFrame(rows, format.keys, upTo);
			if (frame) connection.send(frame);
		}
		sent = upTo;
	}

	const nextPageSize = historyPageSizes(deps.options.historyBatch);

	async function catchUp(): Promise<void> {
		for (;;) {
			await connection.waitForRoom();
			if (connection.closed) return;
			const limit = nextPageSize();
			if (format.version === 2) {
				const page = await retried(() => listRowsAfter(deps.db, jobId, sent, limit));
				if (page.length === 0 || connection.closed) return;
				sendRows(await toRows(page));
				if (page.length < limit) return;
			} else {
				const page = await retried(() => listPoints(deps.db, job, { afterStep: sent, limit }, pointKeys));
				if (page.length === 0 || connection.closed) return;
				connection.send(metricsFrame(page));
				sent = page.at(-1)!.step;
				if (page.length < limit) return;
			}
		}
	}

	async function sendStatus(current: Job): Promise<void> {
		// The id repeats the position, so a client that only ever saw status events still resumes right.
		connection.send(encodeMessage({ event: 'status', id: String(sent), data: JSON.stringify(current) }));
		if (isTerminal(current.status)) {
			last = await end();
			if (sent >= last) connection.end();
		}
	}

	async function onEvent(event: JobEvent): Promise<void> {
		if (event.type === 'status') {
			await catchUp();
			await sendStatus(event.job);
			return;
		}
		if (format.version === 2) {
			const fresh = event.rows.filter((row) => row.position > sent);
			if (fresh.length === 0) return;
			if (fresh[0]!.position !== sent + 1) return catchUp(); // a gap: the database has the missing rows
			sendRows(fresh, fresh.length === event.rows.length ? event : undefined);
			return;
		}
		const contiguous = seenPosition !== undefined && event.rows[0]!.position === seenPosition + 1;
		seenPosition = event.rows.at(-1)!.position;
		if (!contiguous) return catchUp();
		const fresh = legacyPoints(event.rows, event.primary).filter((point) => point.step > sent);
		if (fresh.length === 0) return;
		let frame = sharedFrames.get(event);
		if (fresh.length === event.rows.length) {
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
		await sendStatus(job);
		await catchUp();
		if (isTerminal(job.status) && sent >= last) connection.end();
	});
	return connection.response;
}
