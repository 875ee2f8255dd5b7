/**
 * Gzip for the app's own responses: adapter-node compresses static files ahead of time
 * but not what the app renders, and a monitor page carries its whole downsampled curve.
 */

const COMPRESSIBLE = /^(text\/html|application\/json|text\/csv|text\/plain|application\/javascript)\b/;
/** Below this, gzip's header and the CPU are not worth it. */
const MIN_BYTES = 1024;

export function acceptsGzip(acceptEncoding: string | null): boolean {
	if (!acceptEncoding) return false;
	return acceptEncoding.split(',').some((part) => {
		const [coding, ...params] = part.trim().toLowerCase().split(';');
		const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
		return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
	});
}

/**
 * Whether to gzip this response. Event streams never are: gzip holds bytes back until
 * its window fills, and a live point must leave at once.
 */
export function shouldCompress(request: Request, response: Response): boolean {
	if (!response.body || request.method === 'HEAD' || response.status === 204 || response.status === 304) return false;
	if (response.headers.has('content-encoding') || !acceptsGzip(request.headers.get('accept-encoding'))) return false;
	if (!COMPRESSIBLE.test(response.headers.get('content-type') ?? '')) return false;
	const length = response.headers.get('content-length');
	return length === null || Number(length) >= MIN_BYTES;
}

export function gzipResponse(response: Response): Response {
	const headers = new Headers(response.headers);
	headers.set('content-encoding', 'gzip');
	headers.delete('content-length');
	headers.append('vary', 'Accept-Encoding');
	return new Response(response.body!.pipeThrough(new CompressionStream('gzip')), {
		status: response.status,
		statusText: response.statusText,
		headers
	});
}
