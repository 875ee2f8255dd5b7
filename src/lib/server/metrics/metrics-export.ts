import type { Db } from '../db';
import { getJob } from '../jobs/jobs.service';
import { log } from '../log';
import { listPoints } from './metrics.repository';
import {
	CONTENT_TYPES,
	CSV_HEADER,
	JSON_CLOSING,
	contentDisposition,
	csvRows,
	jsonOpening,
	jsonRows,
	type ExportFormat
} from './export-format';
import type { MetricPoint } from '../../training/job';
import type { Socket } from 'node:net';
import type { ExportLimits } from './export-limits';

export interface ExportRequest {
	/** The request's abort signal: the client went away. */
	signal?: AbortSignal;
	/** The open downloads' cap, and the client's address it counts by. */
	limits?: ExportLimits;
	client?: string;
	/**
	 * The connection: a client that stops reading leaves the server waiting for 'drain',
	 * which no stream error can interrupt, so a stalled or shut-down download ends here.
	 */
	socket?: Socket;
}

/** Rows read per query: large enough for few round trips, small enough to keep memory flat. */
export const EXPORT_PAGE_SIZE = 5_000;

/**
 * Every point of a job, ascending by step, one page at a time: keyset paging on the
 * (job_id, step) primary key, so each page is an index range scan however deep it is,
 * and a point committed while the export runs is either in a later page or not at all,
 * never twice.
 */
export async function* streamPointsInPages(
	db: Db,
	jobId: string,
	pageSize = EXPORT_PAGE_SIZE
): AsyncGenerator<MetricPoint[], void, undefined> {
	let afterStep = 0;
	for (;;) {
		const page = await listPoints(db, jobId, { afterStep, limit: pageSize });
		if (page.length === 0) return;
		yield page;
		if (page.length < pageSize) return;
		afterStep = page.at(-1)!.step;
	}
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
	{ signal, limits, client = 'unknown', socket }: ExportRequest = {}
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
	const pages = streamPointsInPages(db, job.id);
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
	let started = false;
	let first = true;
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
					if (!started) {
						started = true;
						controller.enqueue(encoder.encode(format === 'csv' ? CSV_HEADER : jsonOpening(job)));
						stillReading();
						return;
					}
					const next = done ? undefined : await pages.next();
					if (done) return; // cancelled while the page was read: the stream is already closed
					if (!next || next.done) {
						if (format === 'json') controller.enqueue(encoder.encode(JSON_CLOSING));
						await finish();
						controller.close();
						return;
					}
					controller.enqueue(encoder.encode(format === 'csv' ? csvRows(next.value) : jsonRows(next.value, first)));
					first = false;
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
