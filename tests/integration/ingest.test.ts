import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, MetricPoint } from '../../src/lib/training/job';
import { apiClient, stepsUpTo } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { authorization, startServer, TEST_TOKEN, type RunningServer } from '../support/server';
import { openStream, stepsOf } from '../support/sse-client';

type Point = Record<string, unknown>;
const points = (from: number, to: number, extra: (step: number) => Point = () => ({})): Point[] =>
	Array.from({ length: to - from + 1 }, (_, i) => ({
		step: from + i,
		loss: 1 / (from + i),
		accuracy: 0.5,
		...extra(from + i)
	}));

describe.each(BACKENDS)('ingest API for external jobs (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let api: ReturnType<typeof apiClient>;

	beforeAll(async () => {
		store = await createTestStore(backend);
		// A fast simulator, to show that it leaves external jobs alone.
		server = await startServer({ ...store.env, VAPOR_SIM_STEP_MS: '10' });
		api = apiClient(server.url);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const externalJob = (fields: Record<string, unknown> = {}) =>
		api.createJob({
			name: 'script',
			source: 'external',
			baseModel: 'logistic regression',
			dataset: 'iris',
			stepsPerEpoch: 10,
			...fields
		});
	const postRaw = (path: string, body: string, headers: Record<string, string> = authorization()) =>
		fetch(`${server.url}${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...headers },
			body
		});
	const postPoints = (id: string, body: unknown, headers?: Record<string, string>) =>
		postRaw(`/api/training/jobs/${id}/metrics`, typeof body === 'string' ? body : JSON.stringify(body), headers);
	const stored = (id: string): Promise<MetricPoint[]> => api.allPoints(id);
	const jobCount = async () =>
		((await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json()) as { jobs: Job[] })
			.jobs.length;

	it('creates an external job with free-text model and dataset; the simulator never writes to it', async () => {
		const job = await externalJob({ epochs: 2 });
		expect(job).toMatchObject({
			source: 'external',
			status: 'queued',
			baseModel: 'logistic regression',
			dataset: 'iris',
			stepsPerEpoch: 10,
			totalSteps: 20
		});
		const started = await api.start(job.id);
		expect(started.status).toBe('running');
		// A simulated job started after it counts the simulator's ticks: once it has 50 points,
		// 50 ticks ran while the external job was running, which would have completed it.
		const simulated = await api.createJob({ name: 'simulated' });
		expect(simulated.source).toBe('simulated');
		await api.start(simulated.id);
		await expect
			.poll(async () => (await api.getJob(simulated.id)).currentStep, { timeout: 20_000 })
			.toBeGreaterThanOrEqual(50);
		expect(await stored(job.id)).toEqual([]);
		expect((await api.getJob(job.id)).status).toBe('running');
	});

	it('runs a job from its first points to completed, publishing points live to both streams', async () => {
		const job = await externalJob();
		const jobStream = openStream(`${server.url}/api/training/jobs/${job.id}/stream`, {
			stopWhen: (stream) =>
				stream.events.some((event) => event.event === 'status' && JSON.parse(event.data).status === 'completed')
		});
		const feed = openStream(`${server.url}/api/training/stream`, {
			stopWhen: (stream) =>
				stream.events.some(
					(event) =>
						event.event === 'progress' &&
						(JSON.parse(event.data) as { id: string; currentStep: number }[]).some(
							(p) => p.id === job.id && p.currentStep === 5
						)
				)
		});
		await Promise.all([jobStream.opened, feed.opened]);

		const first = await api.postPoints(job.id, points(1, 3));
		// accepted and duplicates count values: a point with loss and accuracy is two.
		expect(first).toEqual({ accepted: 6, duplicates: 0, lastStep: 3, status: 'running' });
		const running = await api.getJob(job.id);
		expect(running).toMatchObject({ status: 'running', currentStep: 3, latestLoss: 1 / 3, latestAccuracy: 0.5 });
		expect(running.startedAt).not.toBeNull();
		await api.postPoints(
			job.id,
			points(4, 5, (step) => ({ epoch: 1, recordedAt: `2026-11-29T03:00:0${step}.250Z` }))
		);

		const done = await api.finish(job.id, { status: 'completed' });
		expect(done).toMatchObject({ status: 'completed', error: null });
		expect(done.finishedAt).not.toBeNull();

		const live = await jobStream.result;
		expect(stepsOf(live.events)).toEqual([1, 2, 3, 4, 5]);
		const statuses = live.events
			.filter((event) => event.event === 'status')
			.map((event) => JSON.parse(event.data).status);
		expect(statuses).toEqual(['queued', 'running', 'completed']);
		const livePoints = live.events
			.filter((event) => event.event === 'metrics')
			.flatMap((event) => JSON.parse(event.data));
		expect(livePoints[3]).toEqual({
			step: 4,
			epoch: 1,
			loss: 0.25,
			accuracy: 0.5,
			recordedAt: '2026-11-29T03:00:04.250Z'
		});
		expect(livePoints[0].epoch).toBe(1);

		const all = await feed.result;
		const progress = all.events
			.filter((event) => event.event === 'progress')
			.flatMap((event) => JSON.parse(event.data));
		expect(progress).toContainEqual(expect.objectContaining({ id: job.id, currentStep: 5 }));

		const stored5 = await stored(job.id);
		expect(stored5.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
		expect(stored5[4]!.recordedAt).toBe('2026-11-29T03:00:05.250Z');

		const late = await postPoints(job.id, points(6, 6));
		expect(late.status).toBe(409);
		expect((await late.json()).error).toMatch(/"script" is completed: it takes no more points/);
		expect(await stored(job.id)).toHaveLength(5);
	});

	it('accepts a retried request again without writing twice, and an overlapping one for its new points', async () => {
		const job = await externalJob();
		const batch = points(1, 5, (step) => ({ recordedAt: new Date(Date.UTC(2026, 10, 29, 3, 0, step)).toISOString() }));
		expect(await api.postPoints(job.id, batch)).toMatchObject({ accepted: 10, duplicates: 0 });
		expect(await api.postPoints(job.id, batch)).toMatchObject({ accepted: 0, duplicates: 10, lastStep: 5 });
		// Without recordedAt a retry matches whatever time was stored.
		expect(await api.postPoints(job.id, points(4, 8))).toMatchObject({ accepted: 6, duplicates: 4, lastStep: 8 });
		expect((await stored(job.id)).map((p) => p.step)).toEqual(stepsUpTo(8));
		// Retrying the last request after the job finished is still fine: it writes nothing.
		await api.finish(job.id, { status: 'completed' });
		expect(await api.postPoints(job.id, points(4, 8))).toMatchObject({
			accepted: 0,
			duplicates: 10,
			status: 'completed'
		});
	});

	it('takes racing copies of one request (a retry while the first is still in flight) once', async () => {
		const job = await externalJob();
		const batch = points(1, 2_000);
		const answers = await Promise.all(Array.from({ length: 5 }, () => api.postPoints(job.id, batch)));
		// 2,000 points of loss and accuracy: 4,000 values.
		expect(answers.map((a) => a.accepted).sort((a, b) => a - b)).toEqual([0, 0, 0, 0, 4_000]);
		expect(answers.every((a) => a.accepted + a.duplicates === 4_000 && a.lastStep === 2_000)).toBe(true);
		expect((await stored(job.id)).map((p) => p.step)).toEqual(stepsUpTo(2_000));
	});

	it('answers a stored (key, step) sent with another value with a 409 naming key and step, and writes nothing of the request', async () => {
		const job = await externalJob();
		await api.postPoints(job.id, points(1, 5));
		const before = await stored(job.id);
		for (const [changed, key] of [
			[{ loss: 9 }, 'loss'],
			[{ accuracy: 0.9 }, 'accuracy']
		] as const) {
			const response = await postPoints(
				job.id,
				points(3, 7, (step) => (step === 3 ? changed : {}))
			);
			expect(response.status, key).toBe(409);
			expect((await response.json()).error).toMatch(
				new RegExp(`^"${key}" at step 3 is already stored with another value\\. .*nothing of this request was written`)
			);
		}
		expect(await stored(job.id)).toEqual(before);
		// Idempotency is per (key, step) and value: a retry whose epoch or time differ writes nothing new
		// and leaves the stored point as it was.
		for (const changed of [{ epoch: 2 }, { recordedAt: '2020-01-01T00:00:00Z' }])
			expect(
				await api.postPoints(
					job.id,
					points(3, 5, () => changed)
				)
			).toMatchObject({ accepted: 0, duplicates: 6 });
		expect(await stored(job.id)).toEqual(before);
	});

	it('commits a batch whole or not at all: a conflict at its 500th point writes none of its 1,000', async () => {
		const job = await externalJob();
		await api.postPoints(job.id, points(1, 500));
		const response = await postPoints(
			job.id,
			points(1, 1000, (step) => (step === 500 ? { loss: 42 } : {}))
		);
		expect(response.status).toBe(409);
		expect((await response.json()).error).toMatch(/^"loss" at step 500 is already stored with another value/);
		expect((await stored(job.id)).map((p) => p.step)).toEqual(stepsUpTo(500));

		// A step below the last one that was never stored is not an append either.
		const gap = await externalJob();
		await api.postPoints(gap.id, [
			{ step: 1, loss: 1 },
			{ step: 5, loss: 1 }
		]);
		const below = await postPoints(gap.id, [
			{ step: 3, loss: 1 },
			{ step: 6, loss: 1 }
		]);
		expect(below.status).toBe(409);
		expect((await below.json()).error).toMatch(/^"loss" at step 3 is not after its last stored step \(5\)/);
		expect((await stored(gap.id)).map((p) => p.step)).toEqual([1, 5]);

		// A request whose 500th point goes backwards is refused before the database.
		const backwards = points(501, 1500);
		backwards[499]!.step = 10;
		const refused = await postPoints(job.id, backwards);
		expect(refused.status).toBe(400);
		expect((await refused.json()).fields['[499].step']).toMatch(/step 10 of "loss" does not come after its step 999/);
		expect(await stored(job.id)).toHaveLength(500);
	});

	const badRequests: [string, unknown, RegExp, string?][] = [
		['an object instead of an array', { step: 1, loss: 1 }, /JSON array/],
		['malformed JSON', '[{"step": 1,', /not valid JSON/],
		['an empty body', '', /body is empty: send the points as a JSON array/],
		['a point that is not an object', [1], /must be a JSON object/, '[0]'],
		['a missing step', [{ loss: 1 }], /step is required/, '[0].step'],
		['a text step', [{ step: '1', loss: 1 }], /step must be a number/, '[0].step'],
		['step 0', [{ step: 0, loss: 1 }], /at least 1/, '[0].step'],
		['a fractional step', [{ step: 1.5, loss: 1 }], /whole number/, '[0].step'],
		['a step beyond a Postgres integer', [{ step: 2 ** 31, loss: 1 }], /at most 2147483647/, '[0].step'],
		['a fractional epoch', [{ step: 1, epoch: 0.5, loss: 1 }], /epoch must be a whole number/, '[0].epoch'],
		['a missing loss', [{ step: 1 }], /loss is required/, '[0].loss'],
		['a null loss', [{ step: 1, loss: null }], /loss must be a finite number/, '[0].loss'],
		['loss "NaN" without the flag', [{ step: 1, loss: 'NaN' }], /"nonFinite": true/, '[0].loss'],
		['a finite loss flagged nonFinite', [{ step: 1, loss: 1, nonFinite: true }], /must then be "NaN"/, '[0].nonFinite'],
		['accuracy as a percentage', [{ step: 1, loss: 1, accuracy: 93 }], /0.93, not 93/, '[0].accuracy'],
		['a negative accuracy', [{ step: 1, loss: 1, accuracy: -0.5 }], /from 0 to 1/, '[0].accuracy'],
		['a time without a zone', [{ step: 1, loss: 1, recordedAt: '2026-11-29 03:00' }], /ISO 8601/, '[0].recordedAt'],
		['an unknown field', [{ step: 1, loss: 1, lr: 0.1 }], /unknown field "lr"/, '[0].lr'],
		[
			'steps that repeat',
			[
				{ step: 1, loss: 1 },
				{ step: 1, loss: 1 }
			],
			/step 1 of "loss" does not come after its step 1\. Within a key, steps must increase/,
			'[1].step'
		],
		[
			'steps that decrease',
			[
				{ step: 2, loss: 1 },
				{ step: 1, loss: 1 }
			],
			/step 1 of "loss" does not come after its step 2/,
			'[1].step'
		]
	];

	it.each(badRequests)(
		'answers %s with 400, a message naming the field, and nothing written',
		async (_, body, message, field) => {
			const job = await externalJob();
			const response = await postPoints(job.id, body);
			expect(response.status).toBe(400);
			const answer = await response.json();
			expect(answer.error).toMatch(message);
			if (field) expect(answer.fields[field]).toMatch(message);
			expect(await stored(job.id)).toEqual([]);
			expect((await api.getJob(job.id)).status).toBe('queued');
		}
	);

	it('answers more than 10,000 values with 413 and the limit, and takes exactly 10,000', async () => {
		const job = await externalJob();
		// 5,001 points of loss and accuracy are 10,002 values.
		const tooMany = await postPoints(job.id, points(1, 5_001));
		expect(tooMany.status).toBe(413);
		expect((await tooMany.json()).error).toBe(
			'At most 10,000 values per request (a row of 20 metrics counts 20); this one has more. Send them in batches.'
		);
		expect(await stored(job.id)).toEqual([]);

		const full = Array.from({ length: 10_000 }, (_, i) => ({
			step: i + 1,
			key: 'loss',
			value: 1 / (i + 1),
			epoch: Math.ceil((i + 1) / 10),
			recordedAt: new Date(Date.UTC(2026, 10, 29) + i + 1).toISOString()
		}));
		expect(JSON.stringify(full).length).toBeGreaterThan(1_000_000);
		expect(await api.postPoints(job.id, full)).toMatchObject({ accepted: 10_000, lastStep: 10_000 });

		// A body over the server's BODY_SIZE_LIMIT (4M on the test servers) is a 413 as well, naming the limit.
		const padded = await postPoints(job.id, JSON.stringify(points(10_001, 10_002)).padEnd(5_000_000, ' '));
		expect(padded.status).toBe(413);
		expect((await padded.json()).error).toMatch(/at most 4M \(BODY_SIZE_LIMIT\)/);
		expect(await stored(job.id)).toHaveLength(10_000);
	});

	it('stores a marked non-finite loss as the failure signal and fails the job with the reason', async () => {
		const job = await externalJob();
		const answer = await api.postPoints(job.id, [
			{ step: 1, loss: 2.5 },
			{ step: 2, loss: 'NaN', nonFinite: true }
		]);
		expect(answer).toMatchObject({ accepted: 2, status: 'failed' });
		const failed = await api.getJob(job.id);
		expect(failed).toMatchObject({
			status: 'failed',
			error: 'The training script reported loss = NaN at step 2: the run diverged.'
		});
		// JSON has no NaN: a stored non-finite loss reads back as null.
		expect((await stored(job.id)).map((p) => [p.step, p.loss])).toEqual([
			[1, 2.5],
			[2, null]
		]);
		// The retry of that request is accepted and changes nothing.
		expect(
			await api.postPoints(job.id, [
				{ step: 1, loss: 2.5 },
				{ step: 2, loss: 'NaN', nonFinite: true }
			])
		).toMatchObject({ accepted: 0, duplicates: 2 });
		const infinite = await externalJob();
		await api.postPoints(infinite.id, [{ step: 1, loss: '-Infinity', nonFinite: true }]);
		expect((await api.getJob(infinite.id)).error).toMatch(/reported loss = -Infinity at step 1/);
	});

	it('refuses points for simulated, finished, stopped and unknown jobs, and a bad id', async () => {
		const simulated = await api.createJob({ name: 'sim' });
		const toSimulated = await postPoints(simulated.id, points(1, 1));
		expect(toSimulated.status).toBe(409);
		expect((await toSimulated.json()).error).toMatch(
			/"sim" is a simulated job: the simulator writes its points\. Create a job with "source": "external"/
		);

		const stopped = await externalJob({ name: 'to stop' });
		await api.postPoints(stopped.id, points(1, 2));
		expect((await api.stop(stopped.id)).status).toBe('stopped');
		const toStopped = await postPoints(stopped.id, points(3, 3));
		expect(toStopped.status).toBe(409);
		expect((await toStopped.json()).error).toMatch(/is stopped: it takes no more points/);

		const unknown = await postPoints('00000000-0000-4000-8000-000000000000', points(1, 1));
		expect(unknown.status).toBe(404);
		expect((await postPoints('nope', points(1, 1))).status).toBe(400);
		expect(await stored(stopped.id)).toHaveLength(2);
	});

	it('finishes an external job as its script says, and refuses what makes no sense', async () => {
		const job = await externalJob();
		await api.postPoints(job.id, points(1, 2));
		const failed = await api.finish(job.id, { status: 'failed', error: 'CUDA out of memory' });
		expect(failed).toMatchObject({ status: 'failed', error: 'CUDA out of memory' });
		expect(await api.finish(job.id, { status: 'failed', error: 'CUDA out of memory' })).toMatchObject({
			status: 'failed'
		});
		const finish = (id: string, body: unknown) => postRaw(`/api/training/jobs/${id}/finish`, JSON.stringify(body));
		const again = await finish(job.id, { status: 'completed' });
		expect(again.status).toBe(409);
		expect((await again.json()).error).toMatch(/already failed; it cannot become completed/);

		const fresh = await externalJob();
		for (const [body, field, message] of [
			[{ status: 'stopped' }, 'status', /"completed" or "failed"/],
			[{ status: 'completed', error: 'x' }, 'error', /only for a failed run/],
			[{ status: 'failed', error: '' }, 'error', /must not be blank/],
			[{ status: 'failed', because: 'x' }, 'because', /Unknown field/]
		] as const) {
			const response = await finish(fresh.id, body);
			expect(response.status).toBe(400);
			expect((await response.json()).fields[field]).toMatch(message);
		}
		expect((await api.getJob(fresh.id)).status).toBe('queued');
		// A script may finish without a point: a failed setup, for instance.
		expect(await api.finish(fresh.id, { status: 'failed' })).toMatchObject({
			status: 'failed',
			error: 'The training script reported that the run failed.'
		});

		const simulated = await api.createJob({ name: 'sim' });
		const toSimulated = await finish(simulated.id, { status: 'completed' });
		expect(toSimulated.status).toBe(409);
		expect((await toSimulated.json()).error).toMatch(/simulated job: the simulator finishes it/);
	});

	describe('tokens', () => {
		const writes = (id: string): [string, string][] => [
			['/api/training/jobs', JSON.stringify({ name: 'x', baseModel: 'bert-base', dataset: 'imdb' })],
			[`/api/training/jobs/${id}/start`, ''],
			[`/api/training/jobs/${id}/stop`, ''],
			[`/api/training/jobs/${id}/clone`, ''],
			[`/api/training/jobs/${id}/metrics`, JSON.stringify(points(1, 3))],
			[`/api/training/jobs/${id}/finish`, JSON.stringify({ status: 'completed' })]
		];
		const refusals: [string, Record<string, string>, RegExp][] = [
			['no token', {}, /needs a token: send "Authorization: Bearer vpr_…"/],
			['a wrong token', { authorization: `Bearer vpr_${'x'.repeat(43)}` }, /That token is not valid/],
			['a token of another format', { authorization: 'Bearer hunter2' }, /That token is not valid/],
			['another scheme', { authorization: `Basic ${btoa('user:pass')}` }, /must be "Bearer <token>"/],
			['a token in a cookie', { cookie: `vapor_token=${TEST_TOKEN}` }, /needs a token/]
		];

		it.each(refusals)(
			'answers every write with %s with 401, WWW-Authenticate, and writes nothing',
			async (_, headers, message) => {
				const job = await externalJob();
				const jobs = await jobCount();
				for (const [path, body] of writes(job.id)) {
					const response = await postRaw(path, body, headers);
					expect(response.status, path).toBe(401);
					expect(response.headers.get('www-authenticate')).toBe('Bearer realm="Vapor"');
					expect((await response.json()).error, path).toMatch(message);
				}
				expect(await jobCount()).toBe(jobs);
				expect(await api.getJob(job.id)).toMatchObject({ status: 'queued', currentStep: 0 });
			}
		);
	});
});
