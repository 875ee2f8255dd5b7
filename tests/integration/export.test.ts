import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/lib/server/db/migrate';
import { insertJob } from '../../src/lib/server/jobs/jobs.repository';
import { insertPoints, type NewPoint } from '../support/points';
import { EXPORT_PAGE_SIZE } from '../../src/lib/server/metrics/metrics-export';
import { stepsUpTo } from '../support/api-client';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { authorization, startServer, type RunningServer } from '../support/server';

/** More than two pages, and not a multiple of the page size, so the last page is partial. */
const POINTS = EXPORT_PAGE_SIZE * 2 + 345;
const T0 = Date.parse('2026-11-29T00:00:00.000Z');

/** Deterministic values that differ per step, a NaN loss at step 7 and no accuracy on every 10th step. */
function pointAt(jobId: string, step: number): NewPoint {
	return {
		jobId,
		step,
		epoch: Math.ceil(step / 100),
		loss: step === 7 ? Number.NaN : 2 / (1 + step / 1000) + (step % 13) * 1e-3,
		accuracy: step % 10 === 0 ? null : Math.min(1, step / POINTS),
		recordedAt: new Date(T0 + step * 250)
	};
}

/** The long-form lines a point becomes: loss, then accuracy when it has one (the order the keys arrived). */
function csvLinesOf(point: NewPoint): string[] {
	const at = point.recordedAt!.toISOString();
	const lines = [`loss,${point.step},${point.epoch},${point.loss},${at}`];
	if (point.accuracy !== null) lines.push(`accuracy,${point.step},${point.epoch},${point.accuracy},${at}`);
	return lines;
}

function parseCsv(text: string) {
	const lines = text.split('\n');
	expect(lines.at(-1)).toBe(''); // ends with a newline
	const [header, ...rows] = lines.slice(0, -1);
	return { header, rows };
}

/** Values of every step with an accuracy: all but every 10th. */
const ACCURACY_VALUES = POINTS - Math.floor(POINTS / 10);

describe.each(BACKENDS)('metrics export on the built server (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let jobId: string;
	let emptyJobId: string;

	beforeAll(async () => {
		store = await createTestStore(backend);
		// The points go in before the server starts: an embedded database has one process.
		const handle = store.open();
		try {
			await migrateToLatest(handle.db);
			const base = {
				base_model: 'bert-base',
				dataset: 'imdb',
				epochs: 200,
				learning_rate: 0.001,
				batch_size: 32,
				seed: 1
			};
			const job = await insertJob(handle.db, { ...base, name: 'Café run "A" / #1', status: 'completed' });
			const empty = await insertJob(handle.db, { ...base, name: 'nothing yet' });
			jobId = job.id;
			emptyJobId = empty.id;
			for (let from = 1; from <= POINTS; from += 5_000) {
				const steps = stepsUpTo(Math.min(5_000, POINTS - from + 1)).map((i) => from + i - 1);
				await insertPoints(
					handle.db,
					steps.map((step) => pointAt(job.id, step))
				);
			}
		} finally {
			await handle.close();
		}
		server = await startServer(store.env);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	it('sends every value exactly once as long-form CSV, with a header row, as a named attachment', async () => {
		const response = await fetch(`${server.url}/api/training/jobs/${jobId}/metrics.csv`, { headers: authorization() });
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
		expect(response.headers.get('content-disposition')).toBe('attachment; filename="Cafe-run-A-1-metrics.csv"');
		const { header, rows } = parseCsv(await response.text());
		expect(header).toBe('key,step,epoch,value,recorded_at');
		expect(rows).toHaveLength(POINTS + ACCURACY_VALUES);
		// Every line in commit order, across the page boundaries, NaN written as such.
		expect(rows).toEqual(stepsUpTo(POINTS).flatMap((step) => csvLinesOf(pointAt(jobId, step))));
		expect(rows).toContain(`loss,7,1,NaN,${pointAt(jobId, 7).recordedAt!.toISOString()}`);
	});

	it('exports only the keys asked for with ?keys=', async () => {
		const response = await fetch(`${server.url}/api/training/jobs/${jobId}/metrics.csv?keys=accuracy`, {
			headers: authorization()
		});
		expect(response.status).toBe(200);
		const { rows } = parseCsv(await response.text());
		expect(rows).toHaveLength(ACCURACY_VALUES);
		expect(rows.every((line) => line.startsWith('accuracy,'))).toBe(true);
	});

	it('sends every value exactly once as one JSON document grouped by key', async () => {
		const response = await fetch(`${server.url}/api/training/jobs/${jobId}/metrics.json`, { headers: authorization() });
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
		expect(response.headers.get('content-disposition')).toBe('attachment; filename="Cafe-run-A-1-metrics.json"');
		type Value = { step: number; epoch: number; value: number | null; nonFinite?: string; recordedAt: string };
		const document = (await response.json()) as {
			job: { id: string; name: string };
			metrics: Record<string, Value[]>;
		};
		expect(document.job).toMatchObject({ id: jobId, name: 'Café run "A" / #1', currentStep: POINTS });
		expect(Object.keys(document.metrics)).toEqual(['loss', 'accuracy']);
		expect(document.metrics.loss!.map((value) => value.step)).toEqual(stepsUpTo(POINTS));
		expect(document.metrics.accuracy!.map((value) => value.step)).toEqual(
			stepsUpTo(POINTS).filter((step) => step % 10 !== 0)
		);
		// The NaN: JSON has none, so null with the non-finite value named.
		expect(document.metrics.loss![6]).toMatchObject({ step: 7, value: null, nonFinite: 'NaN' });
		const last = pointAt(jobId, POINTS);
		expect(document.metrics.loss![POINTS - 1]).toEqual({
			step: POINTS,
			epoch: last.epoch,
			value: last.loss,
			recordedAt: last.recordedAt!.toISOString()
		});
		expect(document.metrics.accuracy!.at(-1)).toEqual({
			step: POINTS,
			epoch: last.epoch,
			value: last.accuracy,
			recordedAt: last.recordedAt!.toISOString()
		});
	});

	it('exports a job without points as a header, or an empty list', async () => {
		expect(
			await (
				await fetch(`${server.url}/api/training/jobs/${emptyJobId}/metrics.csv`, { headers: authorization() })
			).text()
		).toBe('key,step,epoch,value,recorded_at\n');
		const document = await (
			await fetch(`${server.url}/api/training/jobs/${emptyJobId}/metrics.json`, { headers: authorization() })
		).json();
		expect(document.metrics).toEqual({});
		expect(document.job.name).toBe('nothing yet');
	});

	it.each(['csv', 'json'])('answers an unknown job with 404 and a bad id with 400, as JSON (%s)', async (format) => {
		const missing = await fetch(
			`${server.url}/api/training/jobs/00000000-0000-4000-8000-000000000000/metrics.${format}`,
			{ headers: authorization() }
		);
		expect(missing.status).toBe(404);
		expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
		expect((await missing.json()).error).toMatch(/No job has the id/);

		const bad = await fetch(`${server.url}/api/training/jobs/not-a-job/metrics.${format}`, {
			headers: authorization()
		});
		expect(bad.status).toBe(400);
		expect((await bad.json()).error).toMatch(/"not-a-job" is not a job id/);
	});

	it('stops reading when the client goes away, and keeps serving', async () => {
		// Read the first bytes with a tiny receive window, then drop the connection.
		const firstBytes = await new Promise<string>((resolve, reject) => {
			const request = http.get(
				`${server.url}/api/training/jobs/${jobId}/metrics.csv`,
				{ headers: authorization() },
				(response) => {
					response.once('data', (chunk: Buffer) => {
						request.destroy();
						resolve(chunk.toString('utf8'));
					});
				}
			);
			request.on('error', (error) =>
				(error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)
			);
		});
		expect(firstBytes.startsWith('key,step,epoch,value,recorded_at\n')).toBe(true);
		// The server is not stuck on the abandoned export: a whole export still completes.
		const again = await fetch(`${server.url}/api/training/jobs/${jobId}/metrics.csv`, { headers: authorization() });
		expect((await again.text()).split('\n')).toHaveLength(POINTS + ACCURACY_VALUES + 2);
		expect(server.output()).not.toMatch(/metrics export failed|request failed/);
	});
});
