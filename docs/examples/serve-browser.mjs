// Serves browser.html and forwards every other request to a Vapor server, so that the
// page and the API share one origin (Vapor sends no CORS headers). No dependencies.
//   node docs/examples/serve-browser.mjs http://127.0.0.1:3000 [PORT=8080]
import { readFile } from 'node:fs/promises';
import http from 'node:http';

const target = new URL(process.argv[2] ?? 'http://127.0.0.1:3000');
const port = Number(process.argv[3] ?? 8080);
const page = await readFile(new URL('./browser.html', import.meta.url));

http
	.createServer((req, res) => {
		if (req.url === '/' || req.url.startsWith('/?') || req.url.startsWith('/browser.html')) {
			res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
			return;
		}
		const upstream = http.request(
			new URL(req.url, target),
			{ method: req.method, headers: { ...req.headers, host: target.host } },
			(answer) => {
				res.writeHead(answer.statusCode, answer.headers);
				answer.pipe(res);
				// A stream cut upstream must look cut here too, so the browser reconnects by id.
				answer.on('close', () => answer.complete || res.destroy());
			}
		);
		// Vapor unreachable: drop the connection (an error status would stop EventSource for good).
		upstream.on('error', () => res.destroy());
		res.on('close', () => upstream.destroy()); // the browser left: close the stream upstream too
		req.pipe(upstream);
	})
	.listen(port, '127.0.0.1', () => console.log(`open http://127.0.0.1:${port}/?job=JOB_ID (API: ${target.origin})`));
