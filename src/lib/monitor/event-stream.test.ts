import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeComment, encodeMessage, encodeRetry, HEARTBEAT_HEADER } from '$lib/training/sse';
import { EventStream, reconnectDelayMs, type StreamState } from './event-stream';

/** A real HTTP server whose handler the test scripts, one request at a time. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
	let n = 0;
	const server = http.createServer((req, res) => handler(req, res, n++));
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const close = () => {
		server.closeAllConnections();
		return new Promise<void>((resolve) => server.close(() => resolve()));
	};
	return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`, close };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
	for (const step of cleanup.splice(0)) await step();
});

function follow(url: string, random?: () => number) {
	const events: string[] = [];
	const states: StreamState[] = [];
	const stream = new EventStream({
		url,
		onEvent: (e) => events.push(`${e.event}:${e.data}`),
		onState: (s) => states.push(s),
		random
	});
	stream.start();
	cleanup.push(() => stream.stop());
	return { stream, events, states };
}

const until = async (check: () => boolean, ms = 5_000) => {
	const deadline = Date.now() + ms;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('timed out');
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
};

describe('EventStream', () => {
	it('gives up on a connection silent for 2.5 heartbeats and resumes from the last id', async () => {
		const lastIds: (string | undefined)[] = [];
		const server = await serve((req, res, n) => {
			lastIds.push(req.headers['last-event-id'] as string | undefined);
			res.writeHead(200, { 'content-type': 'text/event-stream', [HEARTBEAT_HEADER]: '100' });
			res.write(encodeRetry(10));
			if (n === 0) {
				res.write(encodeMessage({ event: 'metrics', id: '7', data: 'first' }));
				return; // then silence, the connection held open: what a stuck proxy does
			}
			res.write(encodeMessage({ event: 'metrics', id: '8', data: 'second' }));
			// A quiet but live connection: heartbeats only.
			const beat = setInterval(() => res.write(encodeComment('heartbeat')), 50);
			res.on('close', () => clearInterval(beat));
		});
		cleanup.push(server.close);
		const started = Date.now();
		const { events, states } = follow(server.url);
		await until(() => events.length === 2);
		expect(Date.now() - started).toBeGreaterThanOrEqual(250);
		expect(events).toEqual(['metrics:first', 'metrics:second']);
		expect(lastIds).toEqual([undefined, '7']);
		expect(states).toEqual(['live', 'reconnecting', 'live']);
		// Heartbeats alone keep a connection alive: no further reconnect in several intervals.
		await new Promise((resolve) => setTimeout(resolve, 600));
		expect(lastIds).toHaveLength(2);
	});

	it('ends on 204 and on a 4xx, without retrying', async () => {
		const answers = [204, 404];
		for (const status of answers) {
			let requests = 0;
			const server = await serve((_req, res) => {
				requests++;
				res.writeHead(status).end();
			});
			cleanup.push(server.close);
			const { states } = follow(server.url);
			await until(() => states.includes('ended'));
			await new Promise((resolve) => setTimeout(resolve, 100));
			expect(requests).toBe(1);
		}
	});

	it('backs off from a small first delay, doubling while reconnects fail, and still resumes from the last id', async () => {
		const arrivals: number[] = [];
		const lastIds: (string | undefined)[] = [];
		const server = await serve((req, res, n) => {
			arrivals.push(performance.now());
			lastIds.push(req.headers['last-event-id'] as string | undefined);
			if (n === 0) {
				res.writeHead(200, { 'content-type': 'text/event-stream' });
				res.write(encodeRetry(40));
				res.end(encodeMessage({ event: 'metrics', id: '7', data: 'first' }));
			} else if (n < 5) {
				// A server that is restarting: refused, and the client tries again later.
				res.writeHead(503).end();
			} else {
				res.writeHead(200, { 'content-type': 'text/event-stream' });
				res.write(encodeMessage({ event: 'metrics', id: '8', data: 'second' }));
			}
		});
		cleanup.push(server.close);
		// The lowest point of each spread: the delays are exactly 20, 40, 80, 160, 320 ms.
		const { events } = follow(server.url, () => 0);
		await until(() => events.length === 2);
		expect(events).toEqual(['metrics:first', 'metrics:second']);
		expect(lastIds).toEqual([undefined, '7', '7', '7', '7', '7']);
		const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
		[20, 40, 80, 160, 320].forEach((least, i) => expect(gaps[i]).toBeGreaterThanOrEqual(least - 2));
		// Growing: each wait is longer than the one before, however loaded the machine.
		expect(gaps[4]).toBeGreaterThan(gaps[2]!);
	});

	it('spreads reconnects over the upper half of a doubling delay, capped at 10 s', () => {
		const draws = Array.from({ length: 1_000 }, () => reconnectDelayMs(0, 500));
		expect(Math.min(...draws)).toBeGreaterThanOrEqual(250);
		expect(Math.max(...draws)).toBeLessThan(500);
		// 1,000 tabs of a restarted server: spread over the range, no 25 ms of it holding a crowd.
		const buckets = new Array(10).fill(0);
		for (const draw of draws) buckets[Math.floor((draw - 250) / 25)]++;
		expect(Math.max(...buckets)).toBeLessThan(200);
		expect(reconnectDelayMs(3, 500, () => 0)).toBe(2_000);
		expect(reconnectDelayMs(20, 500, () => 0.999)).toBeLessThan(10_000);
		expect(reconnectDelayMs(20, 500, () => 0)).toBe(5_000);
	});
});
