import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiClient } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { authorization, startServer, type RunningServer } from '../support/server';
import type { KeyRange } from '../../src/lib/server/metrics/curve.service';
import type { Job } from '../../src/lib/training/job';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 150_000 });

const STEPS = 3_000;
const SPIKE_STEP = 1_234;
const lossAt = (step: number) => (step === SPIKE_STEP ? 50 : 2 * Math.exp(-step / 800) + 0.3);

/** The zoom read of a chart: one key over a step range at full resolution, on the built server. */
describe.each(BACKENDS)('GET …/metrics/range (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let job: Job;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer(store.env);
		const api = apiClient(server.url);
		job = await api.createJob({ name: 'range', source: 'external', epochs: 3, primaryMetric: 'train/loss' });
		for (let from = 1; from <= STEPS; from += 1_000) {
			const rows = [];
			for (let step = from; step < from + 1_000; step++) {
				const metrics: Record<string, number> = { 'train/loss': lossAt(step) };
				if (step % 100 === 0) metrics['val/loss'] = lossAt(step) + 0.1;
				rows.push({ step, metrics });
			}
			await api.postPoints(job.id, rows);
		}
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const read = (query: string, headers: Record<string, string> = authorization()) =>
		fetch(`${server.url}/api/training/jobs/${job.id}/metrics/range?${query}`, { headers });
	const range = async (query: string) => {
		const response = await read(query);
		expect(response.status, await response.clone().text()).toBe(200);
		return (await response.json()) as KeyRange;
	};

	it('answers every value once the range is no wider than the chart', async () => {
		const answer = await range('key=train/loss&fromStep=1000&toStep=1500&width=600');
		expect(answer.resolution).toBe('raw');
		expect(answer.values.map((v) => v.step)).toEqual(Array.from({ length: 501 }, (_, i) => 1000 + i));
		expect(answer.values[234]!.value).toBe(50);
		// The answer names its key once; a value carries only what differs from value to value.
		expect(answer.key).toBe('train/loss');
		expect(Object.keys(answer.values[0]!).sort()).toEqual(['epoch', 'recordedAt', 'step', 'value']);
	});

	it('answers GET …/metrics?key= as series whose values do not repeat the key', async () => {
		const response = await fetch(
			`${server.url}/api/training/jobs/${job.id}/metrics?keys=train/loss,val/loss&maxPoints=40`,
			{
				headers: authorization()
			}
		);
		const { series } = (await response.json()) as { series: { key: string; values: { step: number }[] }[] };
		expect(series.map((s) => s.key)).toEqual(['train/loss', 'val/loss']);
		// val/loss is sparse (every 100 steps), so its curve may come from block extremes: fewer values.
		expect(series[1]!.values.length).toBeGreaterThan(0);
		expect(series[1]!.values.every(({ step }) => step % 100 === 0)).toBe(true);
		for (const { values } of series) expect(values.every((value) => !('key' in value) && 'step' in value)).toBe(true);
	});

	it('downsamples a wider range with M4, keeping its spike, its ends and nothing outside it', async () => {
		const answer = await range('key=train/loss&fromStep=1&toStep=3000&width=100');
		expect(answer.resolution).toBe('downsampled');
		const steps = answer.values.map((v) => v.step);
		expect(steps.length).toBeLessThanOrEqual(400);
		expect(steps.length).toBeGreaterThan(100);
		expect(steps).toContain(SPIKE_STEP);
		expect(steps[0]).toBe(1);
		expect(steps.at(-1)).toBe(3000);
		expect([...steps].sort((a, b) => a - b)).toEqual(steps);

		const zoomed = await range('key=train/loss&fromStep=1100&toStep=2600&width=200');
		expect(zoomed.resolution).toBe('downsampled');
		expect(zoomed.values.every((v) => v.step >= 1100 && v.step <= 2600)).toBe(true);
		expect(zoomed.values.map((v) => v.step)).toContain(SPIKE_STEP);
		expect(zoomed.values.length).toBeGreaterThan(answer.values.length / 2);
	});

	it('answers a sparse key raw, and an unknown key with no values', async () => {
		const val = await range('key=val/loss&fromStep=1&toStep=3000&width=100');
		expect(val.resolution).toBe('raw');
		expect(val.values.map((v) => v.step)).toEqual(Array.from({ length: 30 }, (_, i) => (i + 1) * 100));
		const none = await range('key=no/such&fromStep=1&toStep=10&width=100');
		expect(none.values).toEqual([]);
	});

	it('answers bad input with a 400 that says what is wrong', async () => {
		const cases: [string, RegExp][] = [
			['key=train/loss&fromStep=1&toStep=10', /"width" is missing/],
			['key=train/loss&fromStep=10&toStep=1&width=100', /"fromStep" \(10\) must not be after "toStep" \(1\)/],
			['key=train/loss&fromStep=1&toStep=10&width=3', /"width" must be a whole number from 10 to 2500/],
			['key=train/loss&fromStep=x&toStep=10&width=100', /"fromStep" must be a whole number/],
			['key=bad%00key&fromStep=1&toStep=10&width=100', /"key": metric key/],
			['key=train/loss&fromStep=1&toStep=10&width=100&maxPoints=5', /Unknown query parameter "maxPoints"/]
		];
		for (const [query, message] of cases) {
			const response = await read(query);
			expect(response.status, query).toBe(400);
			expect(((await response.json()) as { error: string }).error, query).toMatch(message);
		}
	});

	it('is behind the door like every read, and 404 for a job that does not exist', async () => {
		expect((await read('key=train/loss&fromStep=1&toStep=10&width=100', {})).status).toBe(401);
		const unknown = await fetch(
			`${server.url}/api/training/jobs/00000000-0000-4000-8000-000000000000/metrics/range?key=a&fromStep=1&toStep=2&width=10`,
			{ headers: authorization() }
		);
		expect(unknown.status).toBe(404);
	});
});
