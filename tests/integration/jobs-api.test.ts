import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { authorization, startServer, type RunningServer } from '../support/server';

const validJob = {
	name: 'ResNet on CIFAR',
	baseModel: 'resnet-18',
	dataset: 'cifar-10',
	epochs: 2,
	learningRate: 0.001,
	batchSize: 64
};

describe.each(BACKENDS)('jobs API on the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer(store.env);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const post = (body: string, contentType = 'application/json') =>
		fetch(`${server.url}/api/training/jobs`, {
			method: 'POST',
			headers: { 'content-type': contentType, ...authorization() },
			body
		});
	const jobCount = async () =>
		(
			(await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json()) as {
				jobs: unknown[];
			}
		).jobs.length;

	it('creates a job and reads it back, newest first in the list', async () => {
		const first = await post(JSON.stringify({ ...validJob, name: 'first' }));
		expect(first.status).toBe(201);
		const second = await post(JSON.stringify({ ...validJob, name: '  second  ' }));
		const { job } = await second.json();
		expect(job).toMatchObject({
			name: 'second',
			baseModel: 'resnet-18',
			dataset: 'cifar-10',
			epochs: 2,
			stepsPerEpoch: 100,
			totalSteps: 200,
			learningRate: 0.001,
			batchSize: 64,
			status: 'queued',
			startedAt: null,
			finishedAt: null,
			error: null,
			currentStep: 0,
			latestLoss: null,
			latestAccuracy: null
		});
		expect(second.headers.get('location')).toBe(`/api/training/jobs/${job.id}`);
		expect(Date.parse(job.createdAt)).not.toBeNaN();

		const byId = await fetch(`${server.url}/api/training/jobs/${job.id}`, { headers: authorization() });
		expect(byId.status).toBe(200);
		expect((await byId.json()).job).toEqual(job);

		const { jobs } = await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json();
		expect(jobs.map((j: { name: string }) => j.name).slice(0, 2)).toEqual(['second', 'first']);
	});

	it('fills defaults for epochs, learning rate and batch size', async () => {
		const response = await post(JSON.stringify({ name: 'defaults', baseModel: 'gpt2-small', dataset: 'wikitext-2' }));
		expect(response.status).toBe(201);
		const { job } = await response.json();
		expect(job).toMatchObject({ epochs: 3, learningRate: 3e-4, batchSize: 32, totalSteps: 300 });
	});

	const badBodies: [string, string, RegExp, string?][] = [
		['malformed JSON', '{"name": ', /not valid JSON/],
		['an empty body', '', /body is empty/],
		['a JSON array', '[]', /JSON object/],
		['a number as name', JSON.stringify({ ...validJob, name: 42 }), /Name must be text/, 'name'],
		['a blank name', JSON.stringify({ ...validJob, name: '   ' }), /Give the job a name/, 'name'],
		['a 101-character name', JSON.stringify({ ...validJob, name: 'x'.repeat(101) }), /at most 100/, 'name'],
		[
			'a model outside the catalogue',
			JSON.stringify({ ...validJob, baseModel: 'llama-70b' }),
			/base model from the catalogue/,
			'baseModel'
		],
		[
			'a dataset outside the catalogue',
			JSON.stringify({ ...validJob, dataset: 'imagenet' }),
			/dataset from the catalogue/,
			'dataset'
		],
		['0 epochs', JSON.stringify({ ...validJob, epochs: 0 }), /between 1 and 1000/, 'epochs'],
		['1001 epochs', JSON.stringify({ ...validJob, epochs: 1001 }), /between 1 and 1000/, 'epochs'],
		['2.5 epochs', JSON.stringify({ ...validJob, epochs: 2.5 }), /whole number/, 'epochs'],
		['epochs as text', JSON.stringify({ ...validJob, epochs: '3' }), /Epochs must be a number/, 'epochs'],
		['learning rate 0', JSON.stringify({ ...validJob, learningRate: 0 }), /greater than 0/, 'learningRate'],
		['learning rate above 1', JSON.stringify({ ...validJob, learningRate: 1.0001 }), /at most 1/, 'learningRate'],
		['batch size 0', JSON.stringify({ ...validJob, batchSize: 0 }), /between 1 and 4096/, 'batchSize'],
		['batch size 4097', JSON.stringify({ ...validJob, batchSize: 4097 }), /between 1 and 4096/, 'batchSize'],
		['an unknown field', JSON.stringify({ ...validJob, optimizer: 'adam' }), /Unknown field "optimizer"/, 'optimizer']
	];

	it.each(badBodies)('answers %s with 400, a message, and no row', async (_, body, message, field) => {
		const before = await jobCount();
		const response = await post(body);
		expect(response.status).toBe(400);
		const answer = await response.json();
		expect(answer.error).toMatch(message);
		if (field) expect(answer.fields[field]).toMatch(message);
		expect(await jobCount()).toBe(before);
	});

	it('answers a body over the size limit with 413, not a 500', async () => {
		const before = await jobCount();
		// Test servers run with BODY_SIZE_LIMIT=4M, as `npm start` does.
		const response = await post(JSON.stringify({ ...validJob, name: 'x'.repeat(5_000_000) }));
		expect(response.status).toBe(413);
		expect((await response.json()).error).toMatch(/too large/);
		expect(await jobCount()).toBe(before);
	});

	it('accepts every field at its bounds', async () => {
		const atBounds = [
			{ ...validJob, name: 'x', epochs: 1, learningRate: Number.MIN_VALUE, batchSize: 1 },
			{ ...validJob, name: 'y'.repeat(100), epochs: 1000, learningRate: 1, batchSize: 4096 }
		];
		for (const body of atBounds) {
			const response = await post(JSON.stringify(body));
			expect(response.status, await response.clone().text()).toBe(201);
		}
	});

	it('names every bad field at once', async () => {
		const response = await post(JSON.stringify({ name: '', baseModel: 'x', dataset: 'y', epochs: -1 }));
		const answer = await response.json();
		expect(Object.keys(answer.fields).sort()).toEqual(['baseModel', 'dataset', 'epochs', 'name']);
		expect(answer.error).toMatch(/4 fields need attention/);
	});

	it('answers an id that is not an id with 400 and an unknown job with 404', async () => {
		const notAnId = await fetch(`${server.url}/api/training/jobs/not-an-id`, { headers: authorization() });
		expect(notAnId.status).toBe(400);
		expect((await notAnId.json()).error).toMatch(/is not a job id/);

		const missing = await fetch(`${server.url}/api/training/jobs/00000000-0000-4000-8000-000000000000`, {
			headers: authorization()
		});
		expect(missing.status).toBe(404);
		expect((await missing.json()).error).toMatch(/No job has the id/);
	});

	it('reports health', async () => {
		const response = await fetch(`${server.url}/healthz`);
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ ok: true, database: 'up' });
	});
});
