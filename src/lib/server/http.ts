import { error as kitError, json, type RequestEvent } from '@sveltejs/kit';
import { badRequest, HttpError, isDatabaseUnavailable, isShutdownCut, TooManyRequests } from './errors';
import { log } from './log';
import { isMlflowRoute, mlflowErrorResponse } from './mlflow/mlflow-http';

/** The JSON error body every endpoint answers with: `{ error, fields? }`. */
export function errorResponse(error: unknown, event: RequestEvent): Response {
	// The door's refusals (401, 403) of the MLflow drop-in in MLflow's shape, for the mlflow client.
	if (isMlflowRoute(event.route?.id)) return mlflowErrorResponse(error, event);
	if (error instanceof HttpError) {
		const headers: Record<string, string> = error.status === 401 ? { 'www-authenticate': 'Bearer realm="Vapor"' } : {};
		if (error instanceof TooManyRequests) headers['retry-after'] = String(error.retryAfterSeconds);
		return json(
			{ error: error.message, ...(error.fields ? { fields: error.fields } : {}) },
			{ status: error.status, headers }
		);
	}
	const context = { method: event.request.method, path: event.url.pathname, error };
	// SvelteKit's own client errors, such as 413 for a body over BODY_SIZE_LIMIT.
	const status = (error as { status?: unknown } | null)?.status;
	if (typeof status === 'number' && status >= 400 && status < 500) {
		const limit = process.env.BODY_SIZE_LIMIT?.trim() || '512K';
		const message =
			status === 413
				? `The request body is too large: this server takes at most ${limit} (BODY_SIZE_LIMIT).`
				: String((error as Error).message || 'Bad request.');
		return json({ error: message }, { status });
	}
	if (isDatabaseUnavailable(error)) {
		if (!isShutdownCut(error)) log.warn('database unavailable during request', context);
		return json({ error: 'The database is not reachable right now. Try again in a moment.' }, { status: 503 });
	}
	log.error('request failed', { ...context, stack: (error as Error)?.stack });
	return json({ error: 'Something went wrong on the server. The server log has the details.' }, { status: 500 });
}

/** Wraps an endpoint so that every thrown error becomes a JSON answer with the right status. */
export function api<E extends RequestEvent>(handler: (event: E) => Promise<Response> | Response) {
	return async (event: E): Promise<Response> => {
		try {
			return await handler(event);
		} catch (error) {
			return errorResponse(error, event);
		}
	};
}

export async function readJsonBody(request: Request, expected = 'the job as a JSON object'): Promise<unknown> {
	const text = await request.text();
	if (text.trim() === '') throw badRequest(`The request body is empty: send ${expected}.`);
	try {
		return JSON.parse(text);
	} catch (error) {
		throw badRequest(`The request body is not valid JSON (${(error as Error).message}).`);
	}
}

/** For page loads: a client-caused HttpError becomes SvelteKit's error page with its message. */
export async function orPageError<T>(work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (caught) {
		if (caught instanceof HttpError) kitError(caught.status, caught.message);
		throw caught;
	}
}
