import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, gzipResponse, shouldCompress } from './compression';

const request = (acceptEncoding: string | null, method = 'GET') =>
	new Request('http://localhost/x', {
		method,
		headers: acceptEncoding === null ? {} : { 'accept-encoding': acceptEncoding }
	});
const response = (type: string, body = 'x'.repeat(5000), init: ResponseInit = {}) =>
	new Response(body, { ...init, headers: { 'content-type': type, ...(init.headers ?? {}) } });

describe('response compression', () => {
	it('reads Accept-Encoding, including q=0 refusals', () => {
		expect(acceptsGzip('gzip, deflate, br')).toBe(true);
		expect(acceptsGzip('br;q=1.0, GZIP;q=0.5')).toBe(true);
		expect(acceptsGzip('*')).toBe(true);
		expect(acceptsGzip('gzip;q=0')).toBe(false);
		expect(acceptsGzip('br, deflate')).toBe(false);
		expect(acceptsGzip(null)).toBe(false);
	});

	it('compresses pages and JSON, never event streams, small or already encoded bodies', () => {
		expect(shouldCompress(request('gzip'), response('text/html; charset=utf-8'))).toBe(true);
		expect(shouldCompress(request('gzip'), response('application/json'))).toBe(true);
		expect(shouldCompress(request('gzip'), response('text/event-stream'))).toBe(false);
		expect(shouldCompress(request(null), response('application/json'))).toBe(false);
		expect(shouldCompress(request('gzip', 'HEAD'), response('application/json'))).toBe(false);
		expect(
			shouldCompress(request('gzip'), response('application/json', '{}', { headers: { 'content-length': '2' } }))
		).toBe(false);
		expect(
			shouldCompress(request('gzip'), response('application/json', 'x', { headers: { 'content-encoding': 'br' } }))
		).toBe(false);
		expect(shouldCompress(request('gzip'), new Response(null, { status: 204 }))).toBe(false);
	});

	it('keeps status and headers, and the body decompresses to the original', async () => {
		const body = JSON.stringify({
			metrics: Array.from({ length: 500 }, (_, step) => ({ step, loss: 1 / (step + 1) }))
		});
		const gzipped = gzipResponse(
			response('application/json', body, {
				status: 201,
				headers: { 'x-kept': 'yes', 'content-length': String(body.length) }
			})
		);
		expect(gzipped.status).toBe(201);
		expect(gzipped.headers.get('content-encoding')).toBe('gzip');
		expect(gzipped.headers.get('content-length')).toBeNull();
		expect(gzipped.headers.get('x-kept')).toBe('yes');
		const bytes = Buffer.from(await gzipped.arrayBuffer());
		expect(bytes.length).toBeLessThan(body.length / 3);
		expect(gunzipSync(bytes).toString()).toBe(body);
	});
});
