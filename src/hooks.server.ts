import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { dev } from '$app/environment';
import { gzipResponse, shouldCompress } from '$lib/server/compression';
import { door } from '$lib/server/auth/door';
import { DATABASE_AWAY, isDatabaseUnavailable, isShutdownCut } from '$lib/server/errors';
import { log } from '$lib/server/log';
import { httpDrain, lastOnConnection, shutdownGraceMs } from '$lib/server/shutdown';
import { quiesceVapor, STOP_BUDGET_MS, startVapor, stopVapor } from '$lib/server/vapor';

const SHUTDOWN_HOOKED = Symbol.for('vapor.shutdownHooked');

export const init: ServerInit = async () => {
	await startVapor(undefined, { dev });
	const global = globalThis as typeof globalThis & { [SHUTDOWN_HOOKED]?: boolean };
	if (!global[SHUTDOWN_HOOKED]) {
		global[SHUTDOWN_HOOKED] = true;
		// A database connection that breaks (a restart, a reset) must never end the process.
		// postgres.js rejects a pending sql.reserve() with the raw socket error (no query, no
		// stack of ours); under the chaos bench one such ECONNRESET reached no handler and
		// killed an instance right after a PostgreSQL restart. Logged, and the process goes
		// on: every caller retries or answers 503. Anything else still crashes, as before.
		process.on('unhandledRejection', (reason, promise) => {
			if (!isDatabaseUnavailable(reason)) throw reason;
			const error = reason as NodeJS.ErrnoException & { query?: string };
			log.error('a database connection failed with no one waiting for it; going on', {
				error: reason,
				stack: error?.stack,
				// Which promise it was (a postgres.js Query names its SQL; a bare socket error its syscall).
				promise: promise?.constructor?.name,
				sql: (promise as { strings?: string[] }).strings?.join('$?').slice(0, 200) ?? error?.query?.slice(0, 200),
				syscall: error?.syscall
			});
		});
		// adapter-node stops taking requests on these signals but waits for open
		// connections; streams are open connections, so end them (and the ticks) now, and
		// drain the rest within a bound (see $lib/server/shutdown.ts).
		// (Only in the built server: in dev, Vite owns Ctrl+C.)
		if (!dev) for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => beginStop(signal));
		// adapter-node emits this once the HTTP server has closed.
		process.once('sveltekit:shutdown', async (reason) => {
			log.info('shutting down', { reason });
			const took = await stopVapor();
			log.info('stopped', { ms: took });
			if (dev) return;
			// Everything of ours is closed, so the event loop should be empty now; a handle a
			// library left open must not keep the process (and its port) alive. Unref'd: a
			// clean exit comes first.
			setTimeout(() => {
				log.warn('shutdown: something still held the process after everything was closed; exiting', {
					resources: process.getActiveResourcesInfo()
				});
				process.exit(0);
			}, EXIT_WAIT_MS).unref();
		});
	}
};

const EXIT_WAIT_MS = 250;

/**
 * On SIGTERM or SIGINT. A stop has two bounded parts: the HTTP server drains (at most the
 * grace), then stopVapor() (at most STOP_BUDGET_MS). Should either wait on something no
 * bound covers, the process exits anyway, saying what it was still waiting for.
 */
function beginStop(signal: NodeJS.Signals) {
	const graceMs = shutdownGraceMs();
	log.info('stopping', { signal, graceMs });
	httpDrain.begin(graceMs);
	void quiesceVapor();
	// A second of slack over the sum of the bounds: this is the net under them, not one more of them.
	const deadlineMs = graceMs + STOP_BUDGET_MS + 1_000;
	setTimeout(() => {
		log.error('shutdown: the process did not stop in time; exiting', {
			afterMs: deadlineMs,
			resources: process.getActiveResourcesInfo()
		});
		process.exit(1);
	}, deadlineMs).unref();
}

/**
 * The door first (see $lib/server/auth/door.ts: access decided on event.route.id), then
 * gzip for what the app renders (see $lib/server/compression.ts).
 */
export const handle: Handle = async ({ event, resolve }) => {
	httpDrain.note(event.platform?.req);
	const refused = await door(event);
	if (refused) return httpDrain.draining ? lastOnConnection(refused) : refused;
	let response = await resolve(event);
	// A page or form action that failed because the database is away: a 503, not a 500 (handleError
	// set the message; SvelteKit gives every unexpected error 500).
	if (event.locals.databaseAway && response.status === 500) {
		response = new Response(response.body, { status: 503, headers: response.headers });
		response.headers.set('retry-after', '5');
	}
	if (shouldCompress(event.request, response)) response = gzipResponse(response);
	return httpDrain.draining ? lastOnConnection(response) : response;
};

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	if (isDatabaseUnavailable(error)) {
		if (!isShutdownCut(error))
			log.warn('database unavailable during a page request', { path: event.url.pathname, error });
		event.locals.databaseAway = true;
		return { message: DATABASE_AWAY, databaseAway: true };
	}
	if (status !== 404) {
		log.error('unhandled error', { path: event.url.pathname, status, error, stack: (error as Error)?.stack });
	}
	return { message: status === 404 ? message : 'Something went wrong on the server. The server log has the details.' };
};
