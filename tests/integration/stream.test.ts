import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/lib/server/db/migrate';
import { insertJob } from '../../src/lib/server/jobs/jobs.repository';
import { insertPoints, type NewPoint } from '../support/points';
import { SseParser } from '../../src/lib/training/sse';
import type { Job } from '../../src/lib/training/job';
import { apiClient, stepsUpTo } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { authorization, startServer, type RunningServer } from '../support/server';
import { openStream, readStream, stepsOf } from '../support/sse-client';
import { waitFor } from '../support/wait';

const SERVER_ENV = { VAPOR_SIM_STEP_MS: '5', VAPOR_SSE_HEARTBEAT_MS: '200', VAPOR_SSE_STALL_MS: '1000' };

describe.each(BACKENDS)('metric stream on the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;

	async function restartServer(extraEnv: Record<string, string> = {}) {
		await server.stop();
		server = await startServer({ ...store.env, ...SERVER_ENV, ...extraEnv }, { port: server.port });
	}

	async function completedJob(epochs = 2): Promise<Job> {
		const job = await api.createJob({ name: 'done', epochs });
		await api.start(job.id);
		// 1,200 ticks on PGlite take well over 30 s when the two cores are shared with other test files.
		await waitFor(async () => (await api.getJob(job.id)).status === 'completed', 55_000, 'the job to complete');
		return api.getJob(job.id);
	}

	const subscribers = async () =>
		((await (await fetch(`${server.url}/healthz`)).json()) as { subscribers: number }).subscribers;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer({ ...store.env, ...SERVER_ENV });
		api = apiClient(server.url);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	it('frames a finished job exactly: retry, status first, every step in id-tagged batches, status, end', async () => {
		const job = await completedJob(12);
		const stream = await readStream(`${server.url}/api/training/jobs/${job.id}/stream`);

		expect(stream.status).toBe(200);
		expect(stream.headers['content-type']).toBe('text/event-stream');
		expect(stream.headers['cache-control']).toBe('no-cache');
		expect(stream.headers['x-accel-buffering']).toBe('no');
		expect(stream.raw.startsWith('retry: 2000\n\nevent: status\nid: 0\ndata: {')).toBe(true);
		expect(stream.ended).toBe(true);

		const [first, ...rest] = stream.events;
		expect(first!.event).toBe('status');
		expect(JSON.parse(first!.data)).toMatchObject({ id: job.id, status: 'completed', currentStep: 1200 });
		const batches = rest.filter((event) => event.event === 'metrics');
		expect(batches.length).toBeGreaterThanOrEqual(2);
		for (const batch of batches) {
			const points = JSON.parse(batch.data) as { step: number; epoch: number; loss: number; recordedAt: string }[];
			expect(points.length).toBeLessThanOrEqual(1000);
			expect(batch.lastEventId).toBe(String(points.at(-1)!.step));
			expect(Object.keys(points[0]!).sort()).toEqual(['accuracy', 'epoch', 'loss', 'recordedAt', 'step']);
		}
		expect(stepsOf(stream.events)).toEqual(stepsUpTo(1200));
	});

	it('answers 204 to a reconnect with nothing left, and resumes a finished job after a given id', async () => {
		const job = await completedJob(1);
		const url = `${server.url}/api/training/jobs/${job.id}/stream`;
		expect((await readStream(url, { headers: { 'last-event-id': '100' } })).status).toBe(204);
		expect((await readStream(`${url}?after=latest`)).status).toBe(204);

		const tail = await readStream(url, { headers: { 'last-event-id': '90' } });
		expect(tail.status).toBe(200);
		expect(stepsOf(tail.events)).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
		expect(tail.ended).toBe(true);
		const afterParam = await readStream(`${url}?after=97`);
		expect(stepsOf(afterParam.events)).toEqual([98, 99, 100]);
	});

	it('answers 404 for an unknown job and 400 for a position that is not a step, before any stream', async () => {
		const missing = await fetch(`${server.url}/api/training/jobs/00000000-0000-4000-8000-000000000000/stream`, {
			headers: authorization()
		});
		expect(missing.status).toBe(404);
		expect(missing.headers.get('content-type')).toMatch(/application\/json/);
		expect((await missing.json()).error).toMatch(/No job has the id/);

		const job = await api.createJob({ name: 'q' });
		const badAfter = await fetch(`${server.url}/api/training/jobs/${job.id}/stream?after=ten`, {
			headers: authorization()
		});
		expect(badAfter.status).toBe(400);
		expect((await badAfter.json()).error).toMatch(
			/"after" must be a step \(or, with v=2, a position\).*"latest"; it is "ten"/
		);
		const badId = await fetch(`${server.url}/api/training/jobs/${job.id}/stream`, {
			headers: { 'last-event-id': '-3', ...authorization() }
		});
		expect(badId.status).toBe(400);
		expect((await badId.json()).error).toMatch(
			/Last-Event-ID must be a step \(or, with v=2, a position\): a whole number, 0 or more; it is "-3"/
		);
	});

	it('sends a heartbeat comment while nothing happens', async () => {
		const job = await api.createJob({ name: 'idle' });
		const stream = await readStream(`${server.url}/api/training/jobs/${job.id}/stream`, {
			stopWhen: (s) => s.parser.comments >= 3
		});
		expect(stream.parser.comments).toBeGreaterThanOrEqual(3);
		expect(stream.raw).toContain(': heartbeat\n\n');
		expect(stream.events.map((e) => e.event)).toEqual(['status']);
	});

	it('streams live points, then the terminal status, then ends', async () => {
		const job = await api.createJob({ name: 'live', epochs: 2 });
		const streamed = openStream(`${server.url}/api/training/jobs/${job.id}/stream?after=latest`, { timeoutMs: 30_000 });
		await streamed.opened;
		await api.start(job.id);
		const stream = await streamed.result;
		expect(stream.ended).toBe(true);
		expect(stepsOf(stream.events)).toEqual(stepsUpTo(200));
		const statuses = stream.events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status);
		expect(statuses).toEqual(['queued', 'running', 'completed']);
		expect(stream.events.at(-1)!.lastEventId).toBe('200');
	});

	it('delivers every step exactly once across connections cut at random moments', async () => {
		const job = await api.createJob({ name: 'cut', epochs: 6 });
		await api.start(job.id);
		const received: number[] = [];
		let lastId = '';
		let connections = 0;
		for (;;) {
			connections++;
			const stream = await readStream(`${server.url}/api/training/jobs/${job.id}/stream`, {
				headers: lastId ? { 'last-event-id': lastId } : {},
				// Cut after a random number of bytes: mid-event as often as not.
				stopWhen: (s) => s.raw.length > 200 + Math.random() * 3000
			});
			if (stream.status === 204) break;
			expect(stream.status).toBe(200);
			received.push(...stepsOf(stream.events));
			lastId = stream.parser.lastEventId || lastId;
			expect(connections).toBeLessThan(2_000);
		}
		expect(connections).toBeGreaterThan(5);
		expect(received).toEqual(stepsUpTo(600));
	});

	it('works with curl', async () => {
		const job = await completedJob(1);
		const { stdout } = await promisify(execFile)('curl', [
			'-sN',
			'--max-time',
			'20',
			'-H',
			`Authorization: ${authorization().authorization}`,
			`${server.url}/api/training/jobs/${job.id}/stream`
		]);
		const events = new SseParser().push(stdout);
		expect(stepsOf(events)).toEqual(stepsUpTo(100));
		expect(events[0]!.event).toBe('status');
		expect(JSON.parse(events[0]!.data).status).toBe('completed');
	});

	it('removes the subscription of every client that leaves', async () => {
		const job = await api.createJob({ name: 'crowd', epochs: 50 });
		await api.start(job.id);
		const baseline = await subscribers();
		const sockets = await Promise.all(
			Array.from({ length: 40 }, () =>
				readStream(`${server.url}/api/training/jobs/${job.id}/stream?after=latest`, {
					stopWhen: (s) => s.events.length >= 2
				})
			)
		);
		expect(sockets.every((s) => s.status === 200)).toBe(true);
		await waitFor(async () => (await subscribers()) === baseline, 10_000, 'subscribers to return to the baseline');
		// A client that connects and leaves at once is cleaned up too.
		for (let i = 0; i < 20; i++) {
			const controller = new AbortController();
			const response = await fetch(`${server.url}/api/training/jobs/${job.id}/stream`, {
				signal: controller.signal,
				headers: authorization()
			});
			expect(response.status).toBe(200);
			controller.abort();
		}
		await waitFor(async () => (await subscribers()) === baseline, 10_000, 'subscribers to return to the baseline');
		await api.stop(job.id);
	});

	it('drops a client that stops reading, and that client then resumes by its last id', async () => {
		// A long history, written while the server is down (PGlite is one process's database).
		await server.stop();
		const handle = store.open();
		let jobId: string;
		try {
			await migrateToLatest(handle.db);
			const job = await insertJob(handle.db, {
				name: 'long',
				base_model: 'bert-base',
				dataset: 'imdb',
				epochs: 1000,
				learning_rate: 3e-4,
				batch_size: 32,
				seed: 1,
				status: 'stopped'
			});
			jobId = job.id;
			for (let start = 1; start <= 60_000; start += 10_000) {
				const points: NewPoint[] = [];
				for (let step = start; step < start + 10_000; step++)
					points.push({ jobId, step, epoch: Math.ceil(step / 100), loss: 1 / step, accuracy: 0.5 });
				await insertPoints(handle.db, points);
			}
		} finally {
			await handle.close();
		}
		server = await startServer({ ...store.env, ...SERVER_ENV }, { port: server.port });
		const baseline = await subscribers();

		const socket = net.connect(server.port, '127.0.0.1');
		socket.write(
			[
				`GET /api/training/jobs/${jobId!}/stream HTTP/1.1`,
				'Host: 127.0.0.1',
				'Accept: text/event-stream',
				`Authorization: ${authorization().authorization}`,
				'',
				''
			].join('\r\n')
		);
		let raw = '';
		socket.setEncoding('utf8');
		socket.once('data', (chunk: string) => {
			raw += chunk;
			socket.pause(); // and never read again
		});
		const closed = new Promise((resolve) => socket.once('close', resolve));
		await waitFor(
			() => server.output().includes('dropping a stream client that reads too slowly'),
			20_000,
			'the slow client to be dropped'
		);
		expect(raw).toContain('HTTP/1.1 200');
		socket.resume();
		socket.on('data', (chunk: string) => (raw += chunk));
		await closed;
		const parser = new SseParser();
		const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
		const firstEvents = parser.push(body.replace(/\r\n[0-9a-f]+\r\n/g, ''));
		const lastId = Number(parser.lastEventId);
		expect(lastId).toBeLessThan(60_000);
		expect(stepsOf(firstEvents).at(-1) ?? 0).toBeLessThanOrEqual(lastId);

		const rest = await readStream(`${server.url}/api/training/jobs/${jobId!}/stream`, {
			headers: { 'last-event-id': String(lastId) },
			timeoutMs: 30_000
		});
		expect(stepsOf(rest.events)).toEqual(stepsUpTo(60_000).slice(lastId));
		expect(await subscribers()).toBe(baseline);
	});

	it('follows a job with the eventsource package through a server restart, with no step lost or repeated', async () => {
		const job = await api.createJob({ name: 'through restart', epochs: 8 });
		const steps: number[] = [];
		const statuses: string[] = [];
		let errors = 0;
		// The eventsource package takes a fetch, so it can send the token (a browser's sends the session cookie).
		const source = new EventSource(`${server.url}/api/training/jobs/${job.id}/stream`, {
			fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...authorization() } })
		});
		source.addEventListener('metrics', (event) =>
			steps.push(...(JSON.parse(event.data) as { step: number }[]).map((p) => p.step))
		);
		source.addEventListener('status', (event) => statuses.push(JSON.parse(event.data).status));
		source.addEventListener('error', () => errors++);
		try {
			await waitFor(() => statuses.length === 1, 10_000, 'the first status');
			await api.start(job.id);
			await waitFor(() => steps.length >= 100, 20_000, 'points before the restart');
			await restartServer();
			await waitFor(() => statuses.includes('completed'), 60_000, 'completion after the restart');
			// The server ends the stream; the client's reconnect gets 204 and it stops.
			await waitFor(() => source.readyState === EventSource.CLOSED, 15_000, 'the client to stop reconnecting');
		} finally {
			source.close();
		}
		expect(errors).toBeGreaterThanOrEqual(1);
		expect(steps).toEqual(stepsUpTo(800));
	});

	it('feeds status and progress of all jobs on /api/training/stream', async () => {
		const job = await api.createJob({ name: 'watched', epochs: 1 });
		const feed = openStream(`${server.url}/api/training/stream`, {
			stopWhen: (s) => s.events.some((e) => e.event === 'status' && JSON.parse(e.data).status === 'completed'),
			timeoutMs: 20_000
		});
		await feed.opened;
		await api.start(job.id);
		const stream = await feed.result;
		expect(stream.events[0]!.event).toBe('jobs');
		expect((JSON.parse(stream.events[0]!.data) as Job[]).some((j) => j.id === job.id)).toBe(true);
		const progress = stream.events
			.filter((e) => e.event === 'progress')
			.flatMap((e) => JSON.parse(e.data) as { id: string; currentStep: number }[])
			.filter((p) => p.id === job.id)
			.map((p) => p.currentStep);
		expect(progress.length).toBeGreaterThan(1);
		expect(progress).toEqual([...progress].sort((a, b) => a - b));
		const statuses = stream.events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status);
		expect(statuses).toEqual(['running', 'completed']);
	});
});
