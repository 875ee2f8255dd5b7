import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, stepsUpTo } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { startServer, TEST_TOKEN, type RunningServer } from '../support/server';
import { readStream, stepsOf } from '../support/sse-client';
import { startStreamProxy } from '../support/stream-proxy';
import { waitFor } from '../support/wait';

/** A fast heartbeat, so that 2.5 silent intervals (a dead connection) pass in half a second. */
const SERVER_ENV = { VAPOR_SSE_HEARTBEAT_MS: '200' };

const point = (step: number) => ({ step, loss: 1 / step, accuracy: Math.min(1, step / 5000) });

/** Runs an example follower, collecting its output as it goes, until it exits. */
function runExample(command: string, args: string[]) {
	const child = spawn(command, args, {
		env: { PATH: process.env.PATH ?? '', VAPOR_TOKEN: TEST_TOKEN },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let output = '';
	child.stdout.on('data', (chunk) => (output += chunk));
	child.stderr.on('data', (chunk) => (output += chunk));
	const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
	return { output: () => output, exited, kill: () => child.kill('SIGKILL') };
}

describe.each(BACKENDS)('event streams over a bad network (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer({ ...store.env, ...SERVER_ENV });
		api = apiClient(server.url);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	it('gets the whole history through a slow link cut every 300 ms: every reconnect makes progress', async () => {
		const job = await api.createJob({ name: 'cut often', source: 'external', epochs: 20 });
		await api.postPoints(job.id, stepsUpTo(1500).map(point));
		await api.finish(job.id, { status: 'completed' });
		// 40 kB/s for 300 ms is 12 kB a connection: a page of 1,000 points (~80 kB) never gets through.
		const proxy = await startStreamProxy({ port: server.port }, { bytesPerSecond: 40_000, cutAfterMs: 300 });
		try {
			const steps: number[] = [];
			let lastId = '';
			for (let connection = 1; ; connection++) {
				const stream = await readStream(`${proxy.url}/api/training/jobs/${job.id}/stream`, {
					headers: lastId ? { 'last-event-id': lastId } : {},
					timeoutMs: 5_000
				});
				if (stream.status === 204) break;
				const before = steps.length;
				steps.push(...stepsOf(stream.events));
				lastId = stream.parser.lastEventId || lastId;
				expect(steps.length, `connection ${connection} brought no step`).toBeGreaterThan(before);
				expect(connection).toBeLessThan(100);
			}
			expect(steps).toEqual(stepsUpTo(1500));
		} finally {
			await proxy.close();
		}
	}, 120_000);

	it.each([
		['node', ['docs/examples/follow-job.mjs']],
		// -u: unbuffered, so the test sees each line as it is printed.
		['python3', ['-u', 'docs/examples/follow_job.py']]
	])(
		'%s %j gives up on a connection that goes silent, resumes by id, and takes sparse steps',
		async (command, args) => {
			const job = await api.createJob({ name: `followed by ${command}`, source: 'external', epochs: 10 });
			// Every 10th step only, as a script that logs sparsely would send them.
			await api.postPoints(job.id, [10, 20, 30].map(point));
			const proxy = await startStreamProxy({ port: server.port });
			const follower = runExample(command, [...args, proxy.url, job.id]);
			try {
				await waitFor(() => /steps 10.30/.test(follower.output()), 20_000, 'the first points');
				const before = proxy.connections();
				// The connection stays open and carries nothing more: no heartbeat, no point.
				proxy.freeze();
				await api.postPoints(job.id, [40, 50].map(point));
				await api.finish(job.id, { status: 'completed' });
				const code = await follower.exited;
				expect(code, follower.output()).toBe(0);
				expect(proxy.connections()).toBeGreaterThan(before);
				expect(follower.output()).toMatch(/steps 40.50/);
			} finally {
				follower.kill();
				await proxy.close();
			}
		}
	);
});
