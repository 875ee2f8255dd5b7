/**
 * Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html),
 * shared by the server that writes the stream and the clients and tests that read it.
 */

/** The response header that gives a stream's heartbeat interval in milliseconds. */
export const HEARTBEAT_HEADER = 'Vapor-Heartbeat-Ms';

/**
 * A stream that sends nothing, not even a heartbeat, for this many intervals is dead
 * (a proxy or a network that holds the connection open but forwards nothing): close it
 * and resume by id. 2.5 leaves room for one late heartbeat.
 */
export const DEAD_AFTER_HEARTBEATS = 2.5;

export interface SseMessage {
	event?: string;
	id?: string;
	data: string;
}

/** One message; multi-line data becomes several `data:` lines, as the standard asks. */
export function encodeMessage({ event, id, data }: SseMessage): string {
	let frame = '';
	if (event) frame += `event: ${event}\n`;
	if (id !== undefined) frame += `id: ${id}\n`;
	for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
	return frame + '\n';
}

export function encodeRetry(ms: number): string {
	return `retry: ${Math.round(ms)}\n\n`;
}

/** A comment line: ignored by clients, keeps proxies from closing an idle connection. */
export function encodeComment(text: string): string {
	return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

export interface ParsedEvent {
	event: string;
	data: string;
	/** The last event id in force after this event, as a browser would send it on reconnect. */
	lastEventId: string;
}

/**
 * An incremental parser: feed it chunks as they arrive, in any split, and it returns
 * the complete events, following the standard's rules for fields, comments and ids.
 */
export class SseParser {
	#buffer = '';
	#event = '';
	#data: string[] = [];
	/** The id buffer: set by an `id:` line, in force only once its event is complete. */
	#idBuffer = '';
	#lastEventId = '';
	retry: number | undefined;
	comments = 0;

	/** The id a client resumes from: that of the last complete event, never of one cut short. */
	get lastEventId(): string {
		return this.#lastEventId;
	}

	push(chunk: string): ParsedEvent[] {
		this.#buffer += chunk;
		const events: ParsedEvent[] = [];
		for (;;) {
			const match = /\r\n|\r|\n/.exec(this.#buffer);
			// A lone \r at the end may be the first half of \r\n: wait for more.
			if (!match || (match[0] === '\r' && match.index === this.#buffer.length - 1)) break;
			const line = this.#buffer.slice(0, match.index);
			this.#buffer = this.#buffer.slice(match.index + match[0].length);
			const event = this.#line(line);
			if (event) events.push(event);
		}
		return events;
	}

	#line(line: string): ParsedEvent | undefined {
		if (line === '') {
			this.#lastEventId = this.#idBuffer;
			if (this.#data.length === 0) {
				this.#event = '';
				return undefined;
			}
			const event = { event: this.#event || 'message', data: this.#data.join('\n'), lastEventId: this.#lastEventId };
			this.#event = '';
			this.#data = [];
			return event;
		}
		if (line.startsWith(':')) {
			this.comments++;
			return undefined;
		}
		const colon = line.indexOf(':');
		const field = colon === -1 ? line : line.slice(0, colon);
		let value = colon === -1 ? '' : line.slice(colon + 1);
		if (value.startsWith(' ')) value = value.slice(1);
		if (field === 'event') this.#event = value;
		else if (field === 'data') this.#data.push(value);
		else if (field === 'id' && !value.includes('\0')) this.#idBuffer = value;
		else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
		return undefined;
	}
}
