import type http from 'node:http';
import type net from 'node:net';
import { log } from './log';

/**
 * How long requests in flight at SIGTERM may go on before their connections are cut:
 * adapter-node's SHUTDOWN_TIMEOUT (seconds) when it is set, else 1 s. adapter-node's own
 * default is 30 s, and a stop is meant to take under 2 s; every request Vapor serves is
 * short or is ended at the signal (streams, downloads), and clients retry a cut request
 * (points are idempotent by step).
 */
export function shutdownGraceMs(env: NodeJS.ProcessEnv = process.env): number {
	const seconds = Number(env.SHUTDOWN_TIMEOUT?.trim() || Number.NaN);
	return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_GRACE_MS;
}

const DEFAULT_GRACE_MS = 1_000;
/** How often idle keep-alive connections are closed while the server drains. */
const SWEEP_MS = 50;

/**
 * The HTTP side of a stop, bounded. adapter-node closes the server on SIGTERM and waits for
 * every connection to end: it closes idle keep-alive connections only when some request
 * closes, and Node answers on a keep-alive connection after close() as before. A client
 * whose request body was read before its answer went out (every POST) is not idle when
 * that happens, sends its next request on the same connection, and so on: with a training
 * script posting points every 100 ms the server never stopped (2 of 4 tries) until
 * adapter-node cut every connection after its SHUTDOWN_TIMEOUT, 30 s.
 *
 * So while draining: every answer says `Connection: close`, idle connections are closed
 * every 50 ms, and after the grace the rest are cut.
 */
class HttpDrain {
	#server: http.Server | undefined;
	#draining = false;

	/** adapter-node does not hand out its server; its requests' sockets know it. */
	note(request: http.IncomingMessage | undefined): void {
		if (this.#server || !request) return;
		this.#server = (request.socket as net.Socket & { server?: http.Server }).server;
	}

	get draining(): boolean {
		return this.#draining;
	}

	begin(graceMs: number): void {
		if (this.#draining) return;
		this.#draining = true;
		const server = this.#server;
		// No request answered yet: no keep-alive connection to hold the server open.
		if (!server) return;
		const sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS).unref();
		const cut = setTimeout(() => {
			server.getConnections((_, count) => {
				if (count > 0)
					log.warn('shutdown: cutting connections whose requests did not finish in time', {
						connections: count,
						graceMs
					});
				server.closeAllConnections();
			});
		}, graceMs).unref();
		server.once('close', () => {
			clearInterval(sweep);
			clearTimeout(cut);
		});
	}
}

export const httpDrain = new HttpDrain();

/**
 * Marks an answer given while the server drains as the last on its connection: the client
 * opens a new one (to whichever process serves next) instead of keeping this one open.
 */
export function lastOnConnection(response: Response): Response {
	try {
		response.headers.set('connection', 'close');
		return response;
	} catch {
		// Immutable headers (a fetched or redirect Response): the same answer with a copy of them.
		const copy = new Response(response.body, response);
		copy.headers.set('connection', 'close');
		return copy;
	}
}
