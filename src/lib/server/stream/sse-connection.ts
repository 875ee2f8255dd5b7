import { log } from '../log';
import { encodeComment, encodeRetry, HEARTBEAT_HEADER } from '../../training/sse';

export interface SseOptions {
	/** Comment line sent this often so that proxies and clients see a live connection. */
	heartbeatMs: number;
	/** A client that has not read this many bytes is dropped; it resumes by its last id. */
	maxBufferBytes: number;
	/** The reconnection delay the client is asked to use. */
	retryMs: number;
	/** A client that takes nothing for this long while history waits for it is dropped. */
	stallMs: number;
}

const encoder = new TextEncoder();
const HIGH_WATER_MARK = 64 * 1024;

const HEADERS = {
	'Content-Type': 'text/event-stream',
	'Cache-Control': 'no-cache',
	// adapter-node does not add this for us (see STYLE.md); nginx would buffer the stream.
	'X-Accel-Buffering': 'no',
	Connection: 'keep-alive'
};

/** Every open stream of this process, so that a shutdown can end them at once. */
const openConnections = new Set<SseConnection>();
/** Set at shutdown: a stream asked for on a keep-alive connection after it is ended at once too. */
let shuttingDown = false;

/** Ends every open stream (clients reconnect by id to whichever process serves next). */
export function endAllStreams(): void {
	shuttingDown = true;
	for (const connection of [...openConnections]) connection.end();
}

/**
 * One client's event stream: ordered writes, a heartbeat, a bounded buffer for slow
 * readers, and one cleanup path whether the client leaves, is dropped, or the stream ends.
 */
export class SseConnection {
	readonly response: Response;
	#controller!: ReadableStreamDefaultController<Uint8Array>;
	#closed = false;
	#tasks: Promise<void> = Promise.resolve();
	#heartbeat: NodeJS.Timeout;
	#cleanups: (() => void)[] = [];
	#roomWaiters: (() => void)[] = [];

	constructor(
		private readonly options: SseOptions,
		/** Logged with every message about this stream; read when logged (a getter may give the position). */
		private readonly context: Record<string, unknown>,
		signal?: AbortSignal
	) {
		const stream = new ReadableStream<Uint8Array>(
			{
				start: (controller) => {
					this.#controller = controller;
				},
				// Called whenever the queue falls below the high-water mark: the client is reading.
				pull: () => {
					for (const wake of this.#roomWaiters.splice(0)) wake();
				},
				cancel: () => this.#shutdown()
			},
			// desiredSize counts bytes the client has not taken yet.
			new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_MARK })
		);
		this.response = new Response(stream, {
			// Clients treat 2.5 intervals without a byte as a dead connection (one a proxy holds open).
			headers: { ...HEADERS, [HEARTBEAT_HEADER]: String(options.heartbeatMs) }
		});
		this.send(encodeRetry(options.retryMs));
		this.#heartbeat = setInterval(() => this.send(encodeComment('heartbeat')), options.heartbeatMs);
		signal?.addEventListener('abort', () => this.#shutdown(), { once: true });
		openConnections.add(this);
		// The client gets the retry delay and reconnects, to whichever process serves next.
		if (shuttingDown) this.end();
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** Runs when the connection ends for any reason, once. */
	onClose(cleanup: () => void): void {
		if (this.#closed) cleanup();
		else this.#cleanups.push(cleanup);
	}

	send(frame: string | Uint8Array): void {
		if (this.#closed) return;
		this.#controller.enqueue(typeof frame === 'string' ? encoder.encode(frame) : frame);
		if (this.#buffered() > this.options.maxBufferBytes) this.#drop('buffer full');
	}

	#buffered(): number {
		return HIGH_WATER_MARK - (this.#controller.desiredSize ?? 0);
	}

	#drop(reason: string): void {
		log.warn('dropping a stream client that reads too slowly', {
			...this.context,
			reason,
			bufferedBytes: this.#buffered()
		});
		// error() discards what is queued at once, so the memory is freed now.
		this.#controller.error(new Error(`stream client too slow (${reason})`));
		this.#shutdown();
	}

	/**
	 * Resolves once the client has taken what was queued (below the high-water mark), so
	 * history is sent at the client's pace instead of piling up in memory. A client that
	 * takes nothing for `stallMs` is dropped; it resumes later by its last id.
	 */
	async waitForRoom(): Promise<void> {
		if (this.#closed || (this.#controller.desiredSize ?? 0) > 0) return;
		let timer: NodeJS.Timeout | undefined;
		const room = new Promise<boolean>((resolve) => {
			this.#roomWaiters.push(() => resolve(true));
			timer = setTimeout(() => resolve(false), this.options.stallMs);
		});
		const drained = await room;
		clearTimeout(timer);
		if (!drained && !this.#closed) this.#drop('stalled');
	}

	/** Work that must happen in order with everything else sent on this connection. */
	run(task: () => Promise<void> | void): void {
		this.#tasks = this.#tasks.then(async () => {
			if (this.#closed) return;
			try {
				await task();
			} catch (error) {
				this.abandon('a step of the stream failed', error);
			}
		});
	}

	/**
	 * Ends the stream because this server cannot go on with it (e.g. the database did not
	 * answer a read): logged with why and where, said to the client in a comment, and
	 * ended after what is already queued, so the client resumes losslessly by its last id.
	 * Never a silent end: a stream ends with a terminal status, a shutdown, or this.
	 */
	abandon(reason: string, error: unknown): void {
		if (this.#closed) return;
		log.warn('dropping a stream; the client resumes by its last id', { ...this.context, reason, error });
		this.#controller.enqueue(encoder.encode(encodeComment(`dropped: ${reason}; reconnect with Last-Event-ID`)));
		this.#controller.close();
		this.#shutdown();
	}

	/** Ends the stream after what is already queued. */
	end(): void {
		if (this.#closed) return;
		this.#controller.close();
		this.#shutdown();
	}

	#shutdown(): void {
		if (this.#closed) return;
		this.#closed = true;
		openConnections.delete(this);
		clearInterval(this.#heartbeat);
		for (const wake of this.#roomWaiters.splice(0)) wake();
		for (const cleanup of this.#cleanups.splice(0)) cleanup();
	}
}

/**
 * The answer to HEAD on an event stream: the headers a GET would get, at once, and no
 * subscription (SvelteKit would otherwise run GET and hold the stream open for nobody).
 */
export function streamHeadResponse(): Response {
	return new Response(null, {
		status: 200,
		headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }
	});
}
