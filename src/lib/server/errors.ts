import type { FieldErrors } from '../training/job-input';

/** An error a client caused or can act on; its message is shown to people as it is. */
export class HttpError extends Error {
	constructor(
		readonly status: number,
		message: string,
		readonly fields?: FieldErrors
	) {
		super(message);
	}
}

export const badRequest = (message: string, fields?: FieldErrors) => new HttpError(400, message, fields);
export const notFound = (message: string) => new HttpError(404, message);
export const conflict = (message: string) => new HttpError(409, message);
/** A missing, wrong or revoked API token; the answer carries `WWW-Authenticate: Bearer`. */
export const unauthorized = (message: string) => new HttpError(401, message);
export const payloadTooLarge = (message: string) => new HttpError(413, message);

/** Asked to come back later (a limit is reached); the answer carries `Retry-After`. */
export class TooManyRequests extends HttpError {
	constructor(
		message: string,
		readonly retryAfterSeconds: number
	) {
		super(429, message);
	}
}

/** Connection-level failures mean the database is away, not that the request was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
	const code = (error as { code?: string } | null)?.code;
	return (
		code === 'ECONNREFUSED' ||
		code === 'ECONNRESET' ||
		code === 'CONNECTION_CLOSED' ||
		code === 'CONNECTION_ENDED' ||
		code === 'CONNECTION_DESTROYED' ||
		code === 'CONNECT_TIMEOUT' ||
		code === 'VAPOR_DB_TIMEOUT' || // see db/deadlines.ts
		code === 'VAPOR_DB_CLOSING' || // a request still running when its server stopped
		code === '57P01' || // admin_shutdown
		code === '57P03' // cannot_connect_now
	);
}

/** A request that was still running when the server stopped: nothing to log, no one to tell. */
export const isShutdownCut = (error: unknown) => (error as { code?: string } | null)?.code === 'VAPOR_DB_CLOSING';

export const DATABASE_AWAY =
	'The database is not reachable right now, so Vapor cannot show this page or do what you asked. Try again in a moment.';
