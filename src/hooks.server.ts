import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { dev } from '$app/environment';
import { gzipResponse, shouldCompress } from '$lib/server/compression';
import { door } from '$lib/server/auth/door';
import { DATABASE_AWAY, isDatabaseUnavailable } from '$lib/server/errors';
import { log } from '$lib/server/log';
import { quiesceVapor, startVapor, stopVapor } from '$lib/server/vapor';

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
		// connections; streams are open connections, so end them (and the ticks) now.
		// (Only in the built server: in dev, Vite owns Ctrl+C.)
		if (!dev) for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void quiesceVapor());
		// adapter-node emits this once the HTTP server has closed.
		process.once('sveltekit:shutdown', async (reason) => {
			log.info('shutting down', { reason });
			await stopVapor();
			log.info('stopped');
			// Everything of ours is closed; a handle a library left open must not keep the
			// process (and its port) alive. Unref'd: a clean exit comes first.
			if (!dev) setTimeout(() => process.exit(0), 2_000).unref();
		});
	}
};

/**
 * The door first (see $lib/server/auth/door.ts: access decided on event.route.id), then
 * gzip for what the app renders (see $lib/server/compression.ts).
 */
export const handle: Handle = async ({ event, resolve }) => {
	const refused = await door(event);
	if (refused) return refused;
	let response = await resolve(event);
	// A page or form action that failed because the database is away: a 503, not a 500 (handleError
	// set the message; SvelteKit gives every unexpected error 500).
	if (event.locals.databaseAway && response.status === 500) {
		response = new Response(response.body, { status: 503, headers: response.headers });
		response.headers.set('retry-after', '5');
	}
	return shouldCompress(event.request, response) ? gzipResponse(response) : response;
};

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	if (isDatabaseUnavailable(error)) {
		log.warn('database unavailable during a page request', { path: event.url.pathname, error });
		event.locals.databaseAway = true;
		return { message: DATABASE_AWAY, databaseAway: true };
	}
	if (status !== 404) {
		log.error('unhandled error', { path: event.url.pathname, status, error, stack: (error as Error)?.stack });
	}
	return { message: status === 404 ? message : 'Something went wrong on the server. The server log has the details.' };
};
