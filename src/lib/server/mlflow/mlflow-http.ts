import { json, type RequestEvent } from '@sveltejs/kit';
import { HttpError, isDatabaseUnavailable } from '../errors';
import { log } from '../log';
import { MLFLOW_ERROR_STATUS, MlflowProblem, type MlflowErrorCode } from '../../training/mlflow';

/** The MLflow drop-in's routes (and MLflow's artifact proxy path), by route id. */
export const isMlflowRoute = (routeId: string | null | undefined) =>
	routeId === '/api/2.0/mlflow' ||
	!!routeId?.startsWith('/api/2.0/mlflow/') ||
	!!routeId?.startsWith('/api/2.0/mlflow-artifacts');

/** Vapor's errors (from the door and the shared services) in MLflow's words. */
function codeOf(status: number): MlflowErrorCode {
	if (status === 401) return 'UNAUTHENTICATED';
	if (status === 403) return 'PERMISSION_DENIED';
	if (status === 404) return 'RESOURCE_DOES_NOT_EXIST';
	if (status === 429) return 'REQUEST_LIMIT_EXCEEDED';
	if (status === 503) return 'TEMPORARILY_UNAVAILABLE';
	if (status >= 500) return 'INTERNAL_ERROR';
	// 400, 409 (a recorded value cannot change, a finished run takes no points), 413.
	return 'INVALID_PARAMETER_VALUE';
}

const answer = (code: MlflowErrorCode, message: string, status: number, headers: Record<string, string> = {}) =>
	json({ error_code: code, message }, { status, headers });

/**
 * Every error of an MLflow route as MLflow answers it, `{ "error_code", "message" }` with
 * its HTTP status, so that the mlflow client raises an MlflowException that says what
 * went wrong (and retries only what MLflow retries: 429 and 5xx).
 */
export function mlflowErrorResponse(error: unknown, event: RequestEvent): Response {
	if (error instanceof MlflowProblem) return answer(error.code, error.message, error.status);
	if (error instanceof HttpError) {
		const headers: Record<string, string> = error.status === 401 ? { 'www-authenticate': 'Bearer realm="Vapor"' } : {};
		const code = codeOf(error.status);
		return answer(code, error.message, MLFLOW_ERROR_STATUS[code], headers);
	}
	const status = (error as { status?: unknown } | null)?.status;
	if (typeof status === 'number' && status >= 400 && status < 500) {
		const limit = process.env.BODY_SIZE_LIMIT?.trim() || '512K';
		const message =
			status === 413
				? `The request body is too large: this server takes at most ${limit} (BODY_SIZE_LIMIT).`
				: String((error as Error).message || 'Bad request.');
		const code = codeOf(status);
		return answer(code, message, MLFLOW_ERROR_STATUS[code]);
	}
	const context = { method: event.request.method, route: event.route.id, error };
	if (isDatabaseUnavailable(error)) {
		log.warn('database unavailable during an MLflow request', context);
		return answer('TEMPORARILY_UNAVAILABLE', 'The database is not reachable right now. Try again in a moment.', 503);
	}
	log.error('MLflow request failed', { ...context, stack: (error as Error)?.stack });
	return answer('INTERNAL_ERROR', 'Something went wrong on the server. The server log has the details.', 500);
}

/** Wraps an MLflow endpoint: every thrown error becomes MLflow's error shape. */
export function mlflowApi<E extends RequestEvent>(handler: (event: E) => Promise<unknown>) {
	return async (event: E): Promise<Response> => {
		try {
			return json(await handler(event));
		} catch (error) {
			return mlflowErrorResponse(error, event);
		}
	};
}

/** A POST body as the mlflow client sends it: a JSON object. */
export async function readMlflowBody(request: Request): Promise<unknown> {
	const text = await request.text();
	if (text.trim() === '') return {};
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new MlflowProblem('BAD_REQUEST', `The request body is not valid JSON (${(error as Error).message}).`);
	}
}

/** A GET's parameters (the mlflow client sends GET requests' fields as the query). */
export const queryOf = (url: URL) => Object.fromEntries(url.searchParams);

/** Everything of MLflow's API outside the tracking subset Vapor stores. */
export function notStored(event: RequestEvent): Response {
	const path = event.url.pathname.slice(0, 200);
	const artifacts = path.includes('mlflow-artifacts') || path.includes('/artifacts');
	const what = artifacts
		? 'artifacts (files, models, images)'
		: /registered-models|model-versions|logged-models/.test(path)
			? 'models or the model registry'
			: /search/.test(path)
				? 'searches'
				: 'this part of the MLflow API';
	return answer(
		'ENDPOINT_NOT_FOUND',
		`Vapor does not store ${what}: it answers the MLflow tracking calls for experiments, runs, params, tags and metrics ` +
			`(${event.request.method} ${path}). See "Point MLFLOW_TRACKING_URI at Vapor" in Vapor's README.`,
		404
	);
}

/** A call of the subset sent with another method than the mlflow client uses. */
export function wrongMethod(allowed: 'GET' | 'POST') {
	return async (event: RequestEvent): Promise<Response> =>
		answer(
			'ENDPOINT_NOT_FOUND',
			`${event.url.pathname.slice(0, 200)} takes ${allowed}, as the mlflow client sends it; not ${event.request.method}.`,
			405,
			{ allow: allowed === 'GET' ? 'GET, HEAD' : 'POST' }
		);
}
