import type { Db } from '../db';
import { getJob } from '../jobs/jobs.service';
import { log } from '../log';
import { keyNames, listKeyValues, listRowsAfter } from './metrics.repository';
import {
	CONTENT_TYPES,
	CSV_HEADER,
	JSON_CLOSING,
	JSON_KEY_CLOSING,
	contentDisposition,
	csvRows,
	jsonKeyOpening,
	jsonOpening,
	jsonValues,
	type ExportFormat
} from './export-format';
import type { Job } from '../../training/job';
import type { CommittedRow } from '../../training/metrics';
import type { Socket } from 'node:net';
import type { ExportLimits } from './export-limits';

export interface ExportRequest {
	/** The request's abort signal: the client went away. */
	signal?: AbortSignal;
	/** Only these keys (`?keys=`); every key when absent. */
	keys?: ReadonlySet<string>;
	/** The open downloads' cap, and the client's address it counts by. */
	limits?: ExportLimits;
	client?: string;
	/**
	 * The connection: a client that stops reading leaves the server waiting for 'drain',
	 * which no stream error can interrupt, so a stalled or shut-down download ends here.
	 */
	socket?: Socket;
	pageSize?: number;
}

/** Rows read per query: large enough for few round trips, small enough to keep memory flat. */
export const EXPORT_PAGE_SIZE = 5_000;

/**
 * The CSV export's text, a page at a time: the job's rows in commit order, keyset paging
 * on the (job_id, position) primary key, so each page is an index range scan however deep
 * it is, and a row committed while the export runs is in a later page or not at all.
 */
async function* csvChunks(db: Db, job: Job, keys: ReadonlySet<string> | undefined, pageSize: number) {
	yield CSV_HEADER;
	let names = await keyNames(db, job.id);
	let after = 0;
	for (;;) {
		const page = await listRowsAfter(db, job.id, after, pageSize);
		if (page.length === 0) return;
		if (page.some((row) => row.keys.some((no) => !names.has(no)))) names = await keyNames(db, job.id);
		const rows: CommittedRow[] = page.map((row) => {
			const values: Record<string, number> = {};
			row.keys.forEach((no, i) => (values[names.get(no)!] = row.vals[i]!));
			return {
				position: row.position,
				step: row.step,
				epoch: row.epoch,
				recordedAt: new Date(row.recorded_at).toISOString(),
				values
			};
		});
		yield csvRows(rows, keys);
		if (page.length < pageSize) return;
		after = page.at(-1)!.position;
	}
}

/** The JSON export's text: key by key (in the order they arrived), each in pages by step. */
async function* jsonChunks(db: Db, job: Job, keys: ReadonlySet<string> | undefined, pageSize: number) {
	yield jsonOpening(job);
	let firstKey = true;
	for (const [keyNo, key] of [...(await keyNames(db, job.id))].sort(([a], [b]) => a - b)) {
		if (keys && !keys.has(key)) continue;
		yield jsonKeyOpening(key, firstKey);
		firstKey = false;
		let afterStep = 0;
		let first = true;
		for (;;) {
			const page = await listKeyValues(db, job.id, { key, key_no: keyNo }, { afterStep, limit: pageSize });
			if (page.length > 0) yield jsonValues(page, first);
			first = false;
			if (page.length < pageSize) break;
			afterStep = page.at(-1)!.step;
		}
		yield JSON_KEY_CLOSING;
	}
	yield JSON_CLOSING;
}

/**
 * GET /api/training/jobs/[id]/metrics.csv | .json: the whole history as a download,
 * streamed. The body is a pull stream: the next page is read only when the client has
 * taken the previous one (adapter-node waits for 'drain'), so memory holds one page
 * whatever the job's size; when the client goes away, cancel() (or the request's abort
 * signal) stops the reading after the page in flight.
 */
export async function exportMetrics(
	db: Db,
	jobId: string,
	format: ExportFormat,
	{ signal, keys, limits, client = 'unknown', socket, pageSize = EXPORT_PAGE_SIZE }: ExportRequest = {}
): Promise<Response> {
	// A slot first (cheap to refuse); given back however the download ends.
	const release = limits?.acquire(client, () => endSocket('the server is shutting down')) ?? (() => {});
	let job;
	try {
		job = await getJob(db, jobId);
	} catch (error) {
		release();
		throw error;
	}
	const pages = format === 'csv' ? csvChunks(db, job, keys, pageSize) : jsonChunks(db, job, keys, pageSize);
	let idleTimer: NodeJS.Timeout | undefined;
	const idleMs = limits?.options.idleMs;
	const endSocket = (reason: string) => {
		log.warn('ended a download', { jobId, format, client, reason });
		socket?.destroy();
		void finish();
	};
	const stillReading = () => {
		clearTimeout(idleTimer);
		if (idleMs !== undefined && !done)
			idleTimer = setTimeout(() => endSocket(`the client took nothing for ${idleMs} ms`), idleMs);
	};
	const encoder = new TextEncoder();
	let done = false;

	let stream: ReadableStreamDefaultController<Uint8Array> | undefined;

	const finish = async () => {
		if (done) return;
		done = true;
		clearTimeout(idleTimer);
		release();
		signal?.removeEventListener('abort', onAbort);
		await pages.return();
	};
	const onAbort = () => {
		void finish();
		try {
			stream?.error(new Error('The client went away.'));
		} catch {
			// already closed or cancelled
		}
	};
	signal?.addEventListener('abort', onAbort, { once: true });

	const body = new ReadableStream<Uint8Array>(
		{
			start(controller) {
				stream = controller;
				stillReading();
			},
			async pull(controller) {
				// The client asked for more: the clock runs again once the next chunk is queued.
				clearTimeout(idleTimer);
				try {
					const next = done ? undefined : await pages.next();
					if (done) return; // cancelled while the page was read: the stream is already closed
					if (!next || next.done) {
						await finish();
						controller.close();
						return;
					}
					controller.enqueue(encoder.encode(next.value));
					stillReading();
				} catch (error) {
					log.error('metrics export failed', { jobId: job.id, format, error: (error as Error)?.message });
					await finish().catch(() => {});
					controller.error(error);
				}
			},
			cancel: finish
		},
		// One chunk (a page) queued ahead at most: the next page waits for the client.
		{ highWaterMark: 1 }
	);

	return new Response(body, {
		headers: {
			'content-type': CONTENT_TYPES[format],
			'content-disposition': contentDisposition(job, format),
			'cache-control': 'no-store',
			'x-content-type-options': 'nosniff'
		}
	});
}
