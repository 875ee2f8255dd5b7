import { DEAD_AFTER_HEARTBEATS, HEARTBEAT_HEADER, SseParser, type ParsedEvent } from '$lib/training/sse';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface EventStreamOptions {
	/** The address of the first connection; reconnects resume from the last event id. */
	url: string;
	onEvent: (event: ParsedEvent) => void;
	onState?: (state: StreamState) => void;
	fetch?: typeof fetch;
	/** Until a response says otherwise (the server's default). */
	heartbeatMs?: number;
	/** For tests: the random source of the reconnect delays' spread. */
	random?: () => number;
}

const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_RETRY_MS = 2_000;
/** The first reconnect's delay is at most this, whatever `retry:` the server asked for. */
const FIRST_RETRY_MS = 500;
/** Reconnects that keep failing wait at most this long. */
const MAX_RETRY_MS = 10_000;

/**
 * How long to wait before reconnect number `attempt` (0 for the first after a stream that
 * delivered events): doubling from `firstMs` up to MAX_RETRY_MS, and a random point in the
 * upper half of that. When a server restarts, every open tab loses its stream at the same
 * instant; with a fixed delay they all came back in the same instant too, and again at
 * each failed try. Spread over the half, they come back spread, and keep growing apart.
 */
export function reconnectDelayMs(attempt: number, firstMs: number, random: () => number = Math.random): number {
	const ceiling = Math.min(MAX_RETRY_MS, firstMs * 2 ** Math.min(attempt, 30));
	return ceiling / 2 + (random() * ceiling) / 2;
}

/** Why a connection was given up on: a name other than AbortError, so it is not mistaken for stop(). */
class DeadConnection extends Error {
	override name = 'DeadConnection';
}

/**
 * An event stream read with fetch rather than EventSource, because EventSource hides the
 * heartbeat comments: with every byte in view, a connection that goes silent for 2.5
 * heartbeat intervals is known dead, closed and resumed by its last event id (sent as
 * Last-Event-ID, as EventSource would). 204 ends it, as it ends an EventSource; so does a
 * 4xx, which a retry would not change. Reconnects back off with a random spread
 * (reconnectDelayMs); the server's `retry:` bounds the first delay.
 */
export class EventStream {
	#options: EventStreamOptions;
	#lastEventId = '';
	#retryMs = DEFAULT_RETRY_MS;
	/** Reconnects since a connection last delivered an event. */
	#attempt = 0;
	#heartbeatMs: number;
	#controller: AbortController | undefined;
	#stopped = false;
	#wake: (() => void) | undefined;
	state: StreamState = 'connecting';

	constructor(options: EventStreamOptions) {
		this.#options = options;
		this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
	}

	start(): void {
		void this.#run();
	}

	/** Closes the stream for good (the page left, or nothing more can come). */
	stop(): void {
		if (this.#stopped) return;
		this.#stopped = true;
		this.#controller?.abort();
		this.#wake?.();
		this.#setState('ended');
	}

	#setState(state: StreamState): void {
		if (this.state === state) return;
		this.state = state;
		this.#options.onState?.(state);
	}

	async #run(): Promise<void> {
		while (!this.#stopped) {
			const outcome = await this.#connectOnce();
			if (this.#stopped) return;
			if (outcome === 'ended') return this.stop();
			this.#setState('reconnecting');
			const delay = reconnectDelayMs(this.#attempt++, Math.min(this.#retryMs, FIRST_RETRY_MS), this.#options.random);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, delay);
				this.#wake = () => (clearTimeout(timer), resolve());
			});
		}
	}

	async #connectOnce(): Promise<'ended' | 'again'> {
		const controller = new AbortController();
		this.#controller = controller;
		let watchdog: ReturnType<typeof setTimeout> | undefined;
		const arm = () => {
			clearTimeout(watchdog);
			const deadAfter = DEAD_AFTER_HEARTBEATS * this.#heartbeatMs;
			watchdog = setTimeout(
				() => controller.abort(new DeadConnection(`nothing received for ${deadAfter} ms`)),
				deadAfter
			);
		};
		try {
			arm();
			const headers: Record<string, string> = { accept: 'text/event-stream' };
			if (this.#lastEventId) headers['last-event-id'] = this.#lastEventId;
			const response = await (this.#options.fetch ?? fetch)(this.#options.url, {
				headers,
				cache: 'no-store',
				signal: controller.signal
			});
			if (response.status === 204) return 'ended';
			if (!response.ok || !response.body) {
				await response.body?.cancel();
				return response.status >= 400 && response.status < 500 && response.status !== 429 ? 'ended' : 'again';
			}
			const heartbeat = Number(response.headers.get(HEARTBEAT_HEADER));
			if (Number.isFinite(heartbeat) && heartbeat > 0) this.#heartbeatMs = heartbeat;
			arm();
			this.#setState('live');
			const liveSince = Date.now();
			const parser = new SseParser();
			const decoder = new TextDecoder();
			const reader = response.body.getReader();
			for (;;) {
				const { done, value } = await reader.read();
				if (done || this.#stopped) return 'again';
				arm();
				// A quiet stream (heartbeats only) that lived this long was a healthy connection too.
				if (Date.now() - liveSince >= MAX_RETRY_MS) this.#attempt = 0;
				for (const event of parser.push(decoder.decode(value, { stream: true }))) {
					if (event.lastEventId) this.#lastEventId = event.lastEventId;
					if (this.#stopped) return 'again';
					// Not reset on a connection alone: a server that is stopping answers and ends at once.
					this.#attempt = 0;
					this.#options.onEvent(event);
				}
				if (parser.retry !== undefined) this.#retryMs = parser.retry;
			}
		} catch {
			// A network error, a dead connection, or stop(): the loop decides.
			return 'again';
		} finally {
			clearTimeout(watchdog);
			controller.abort();
		}
	}
}

/** The part of EventSource the monitors use; tests hand in a scripted one. */
export interface EventSourceLike {
	readyState: number;
	onopen: ((event: Event) => void) | null;
	onerror: ((event: Event) => void) | null;
	addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
	close(): void;
}

type Listener = (event: MessageEvent<string>) => void;

/**
 * EventSource's interface over an EventStream, so the monitors keep the shape they were
 * written against while gaining dead-connection detection: `onerror` fires when the
 * stream starts reconnecting (readyState CONNECTING) and when it ends (CLOSED).
 */
export class WatchedEventSource implements EventSourceLike {
	readyState = 0;
	onopen: ((event: Event) => void) | null = null;
	onerror: ((event: Event) => void) | null = null;
	#listeners = new Map<string, Listener[]>();
	#stream: EventStream;
	#closed = false;

	constructor(url: string, options: Pick<EventStreamOptions, 'fetch' | 'heartbeatMs'> = {}) {
		this.#stream = new EventStream({
			url,
			...options,
			onEvent: ({ event, data, lastEventId }) => {
				const message = new MessageEvent(event, { data, lastEventId });
				for (const listener of this.#listeners.get(event) ?? []) listener(message);
			},
			onState: (state) => {
				if (this.#closed || state === 'connecting') return;
				this.readyState = state === 'live' ? 1 : state === 'reconnecting' ? 0 : 2;
				if (state === 'live') this.onopen?.(new Event('open'));
				else this.onerror?.(new Event('error'));
			}
		});
		this.#stream.start();
	}

	addEventListener(type: string, listener: Listener): void {
		this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
	}

	close(): void {
		this.#closed = true;
		this.readyState = 2;
		this.#stream.stop();
	}
}
