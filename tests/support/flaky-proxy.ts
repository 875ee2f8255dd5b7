import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'drop-response' | 'unavailable';

/**
 * An HTTP proxy in front of a server under test that misbehaves on purpose, to show that
 * clients retry safely. `plan(method, path)` picks a fault for each request, or none:
 *  - 'drop-response': forwards the request (the server commits it) and then cuts the
 *    connection instead of answering, as a network failure after the commit would;
 *  - 'unavailable': answers 503 without forwarding.
 */
export async function startFlakyProxy(target: string, plan: (method: string, path: string) => Fault | undefined) {
	const log: { method: string; path: string; fault: Fault | undefined; status?: number }[] = [];
	const server = http.createServer(async (req, res) => {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const entry: (typeof log)[number] = { method: req.method!, path: req.url!, fault: plan(req.method!, req.url!) };
		log.push(entry);
		if (entry.fault === 'unavailable') {
			res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Injected outage.' }));
			return;
		}
		const headers = new Headers();
		for (const [name, value] of Object.entries(req.headers)) {
			if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name))
				headers.set(name, value);
		}
		const upstream = await fetch(target + req.url, {
			method: req.method,
			headers,
			body: chunks.length ? Buffer.concat(chunks) : undefined
		});
		const body = Buffer.from(await upstream.arrayBuffer());
		entry.status = upstream.status;
		if (entry.fault === 'drop-response') {
			req.socket.destroy();
			return;
		}
		res
			.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
			.end(body);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		log,
		close: () => new Promise<void>((resolve) => server.close(() => resolve()))
	};
}
