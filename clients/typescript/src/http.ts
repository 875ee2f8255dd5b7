/** One HTTP call to Vapor with fetch, and the errors it can end in. */

/** The server refused a request, or could not be reached. */
export class VaporError extends Error {
	constructor(
		message: string,
		readonly status?: number,
		readonly fields?: Record<string, string>
	) {
		super(message);
		this.name = 'VaporError';
	}

	/** Worth sending again later: the server is away, busy or broken, not refusing. */
	get retriable(): boolean {
		const status = this.status;
		return status === undefined || status === 408 || status === 425 || status === 429 || status >= 500;
	}
}

export type Fetch = typeof fetch;

export interface RequestOptions {
	timeoutMs: number;
	fetch?: Fetch;
	/** The browser's best effort while a page goes away: the request outlives the page. */
	keepalive?: boolean;
}

export async function request<T>(
	url: string,
	token: string,
	method: string,
	path: string,
	body: unknown,
	{ timeoutMs, fetch: fetchFn = globalThis.fetch, keepalive }: RequestOptions
): Promise<T> {
	let response: Response;
	try {
		response = await fetchFn(url + path, {
			method,
			headers: {
				authorization: `Bearer ${token}`,
				accept: 'application/json',
				...(body === undefined ? {} : { 'content-type': 'application/json' })
			},
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(timeoutMs),
			keepalive
		});
	} catch (error) {
		const cause = (error as { cause?: { code?: string; message?: string } }).cause;
		const reason = cause?.code ?? cause?.message ?? (error as Error).message;
		throw new VaporError(`${method} ${path}: could not reach Vapor at ${url} (${reason})`);
	}
	const text = await response.text().catch(() => '');
	let payload: unknown;
	try {
		payload = text ? JSON.parse(text) : null;
	} catch {
		payload = null; // a proxy's HTML error page, say
	}
	if (response.ok) return payload as T;
	const answer = (payload && typeof payload === 'object' ? payload : {}) as {
		error?: string;
		message?: string;
		fields?: Record<string, string>;
	};
	const message = answer.error ?? answer.message ?? `HTTP ${response.status}`;
	throw new VaporError(`${method} ${path} → ${response.status}: ${message}`, response.status, answer.fields);
}
