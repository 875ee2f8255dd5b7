import http from 'node:http';

export interface RawAnswer {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: string;
}

/**
 * One HTTP request with the path sent exactly as given: fetch() would normalise
 * "/./api", "/x/../api" and "//api" before they reach the server; an attacker's client does not.
 */
export function rawRequest(
	baseUrl: string,
	method: string,
	path: string,
	{ headers = {}, body }: { headers?: Record<string, string>; body?: string } = {}
): Promise<RawAnswer> {
	const url = new URL(baseUrl);
	return new Promise((resolve, reject) => {
		const request = http.request(
			{ host: url.hostname, port: url.port, method, path, headers: { ...headers, connection: 'close' } },
			(response) => {
				let text = '';
				response.setEncoding('utf8');
				response.on('data', (chunk) => (text += chunk));
				response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
			}
		);
		request.on('error', reject);
		request.end(body);
	});
}
