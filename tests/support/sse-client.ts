import http from 'node:http';
import { SseParser, type ParsedEvent } from '../../src/lib/training/sse';
import { authorization } from './server';

export interface RawStream {
	status: number;
	headers: http.IncomingHttpHeaders;
	/** Every byte received, as text. */
	raw: string;
	events: ParsedEvent[];
	parser: SseParser;
	/** True when the server ended the response (not us). */
	ended: boolean;
}

export interface ReadStreamOptions {
	headers?: Record<string, string>;
	timeoutMs?: number;
	stopWhen?: (stream: RawStream) => boolean;
	/** A client that stops reading: when this returns a promise, nothing more is read until it settles. */
	pauseWhen?: (stream: RawStream) => Promise<unknown> | undefined;
}

/**
 * Reads an event stream over plain HTTP, exactly as sent. Stops when the server ends
 * it, when `stopWhen` says so, or after `timeoutMs` (which counts paused time too).
 */
export function readStream(url: string, options: ReadStreamOptions = {}): Promise<RawStream> {
	return openStream(url, options).result;
}

/**
 * readStream, plus `opened`: resolves at the stream's first event. Both streams send
 * their first event (`status` on a job's stream, `jobs` on the feed) only once the
 * client is subscribed to live events, so whatever happens after `opened` reaches it.
 * Rejects if the stream ends or fails before any event.
 */
export function openStream(
	url: string,
	options: ReadStreamOptions = {}
): { opened: Promise<void>; result: Promise<RawStream> } {
	let markOpened!: () => void;
	let failOpened!: (error: Error) => void;
	const opened = new Promise<void>((resolve, reject) => {
		markOpened = resolve;
		failOpened = reject;
	});
	// A caller that awaits only `result` must not see an unhandled rejection.
	opened.catch(() => {});
	const result = readEvents(url, options, markOpened).then(
		(stream) => {
			if (stream.events.length === 0) failOpened(new Error(`${url} answered ${stream.status} with no event`));
			return stream;
		},
		(error: Error) => {
			failOpened(error);
			throw error;
		}
	);
	return { opened, result };
}

function readEvents(
	url: string,
	{ headers = {}, timeoutMs = 15_000, stopWhen, pauseWhen }: ReadStreamOptions,
	onFirstEvent: () => void
): Promise<RawStream> {
	return new Promise((resolve, reject) => {
		// With the test token unless the caller says otherwise (`authorization: ''` sends none).
		const sent = Object.fromEntries(
			Object.entries({ accept: 'text/event-stream', ...authorization(), ...headers }).filter(
				([, value]) => value !== ''
			)
		);
		const request = http.get(url, { headers: sent }, (response) => {
			const parser = new SseParser();
			const stream: RawStream = {
				status: response.statusCode ?? 0,
				headers: response.headers,
				raw: '',
				events: [],
				parser,
				ended: false
			};
			const timer = setTimeout(finish, timeoutMs);
			function finish() {
				clearTimeout(timer);
				request.destroy();
				resolve(stream);
			}
			response.setEncoding('utf8');
			response.on('data', (chunk: string) => {
				stream.raw += chunk;
				stream.events.push(...parser.push(chunk));
				if (stream.events.length > 0) onFirstEvent();
				if (stopWhen?.(stream)) return finish();
				const pause = pauseWhen?.(stream);
				if (pause) {
					response.pause();
					void pause.finally(() => response.resume());
				}
			});
			response.on('end', () => {
				stream.ended = true;
				finish();
			});
			response.on('error', finish);
			// A connection cut under the response (a proxy dropping it) ends with 'close', not 'end'.
			response.on('close', finish);
		});
		request.on('error', (error) => {
			if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') return;
			reject(error);
		});
	});
}

/** The steps carried by `metrics` events, in arrival order. */
export function stepsOf(events: ParsedEvent[]): number[] {
	return events
		.filter((event) => event.event === 'metrics')
		.flatMap((event) => (JSON.parse(event.data) as { step: number }[]).map((point) => point.step));
}
