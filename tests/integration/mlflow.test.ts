import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateTo, migrateToLatest } from '../../src/lib/server/db/migrate';
import { apiClient } from '../support/api-client';
import { BACKENDS, createTestStore, openTestDatabase, type TestStore } from '../support/databases';
import { signIn, startServer, TEST_TOKEN, type RunningServer } from '../support/server';
import type { SeriesValue } from '../../src/lib/training/metrics';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field, as the client's protos read them
type Answer = Record<string, any>;

/**
 * The `mlflow` Python client's requests, replayed as it sends them (mlflow/store/tracking/
 * rest_store.py and rest_utils.call_endpoint): GET calls carry their fields as the query,
 * POST calls as JSON; proto JSON leaves out unset fields and empty lists, and writes
 * NaN as "NaN". MLFLOW_TRACKING_TOKEN travels as "Authorization: Bearer …".
 */
function mlflowClient(baseUrl: string, token: string | null = TEST_TOKEN) {
	async function call(method: 'GET' | 'POST', endpoint: string, body: Record<string, unknown> = {}) {
		const url = new URL(`/api/2.0/mlflow/${endpoint}`, baseUrl);
		const headers: Record<string, string> = { 'user-agent': 'mlflow-python-client/2.19.0' };
		if (token) headers.authorization = `Bearer ${token}`;
		let payload: string | undefined;
		if (method === 'GET') {
			for (const [key, value] of Object.entries(body)) url.searchParams.append(key, String(value));
		} else {
			headers['content-type'] = 'application/json';
			payload = JSON.stringify(body);
		}
		const response = await fetch(url, { method, headers, body: payload });
		return { status: response.status, body: (await response.json()) as Answer };
	}
	/** As the client does: anything but 200 is an MlflowException with the server's error_code. */
	async function ok(method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>) {
		const answer = await call(method, endpoint, body);
		if (answer.status !== 200) throw new Error(`${endpoint} → ${answer.status} ${JSON.stringify(answer.body)}`);
		return answer.body;
	}
	const now = () => Date.now();
	return {
		call,
		/** mlflow.set_experiment(name): get-by-name, create when missing, then get. */
		async setExperiment(name: string): Promise<string> {
			const found = await call('GET', 'experiments/get-by-name', { experiment_name: name });
			let id: string;
			if (found.status === 200) id = found.body.experiment.experiment_id;
			else {
				expect(found).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
				id = (await ok('POST', 'experiments/create', { name })).experiment_id;
			}
			const experiment = (await ok('GET', 'experiments/get', { experiment_id: id })).experiment;
			expect(experiment.lifecycle_stage).toBe('active');
			return experiment.experiment_id;
		},
		/** mlflow.start_run(run_name=…, tags=…): create_run with the context's system tags. */
		async startRun(experimentId: string, runName: string, tags: Record<string, string> = {}) {
			const all = {
				'mlflow.user': 'ada',
				'mlflow.source.name': 'train.py',
				'mlflow.source.type': 'LOCAL',
				...tags,
				'mlflow.runName': runName
			};
			const { run } = await ok('POST', 'runs/create', {
				experiment_id: experimentId,
				user_id: 'ada',
				start_time: now(),
				tags: Object.entries(all).map(([key, value]) => ({ key, value })),
				run_name: runName
			});
			return run as { info: Answer; data: Answer };
		},
		/** mlflow.start_run(run_id=…): get_run, then update_run_info(RUNNING, the previous end_time). */
		async resumeRun(runId: string) {
			const { run } = await ok('GET', 'runs/get', { run_uuid: runId, run_id: runId });
			const update: Record<string, unknown> = { run_uuid: runId, run_id: runId, status: 'RUNNING' };
			if (run.info.end_time !== undefined) update.end_time = run.info.end_time;
			return (await ok('POST', 'runs/update', update)).run_info;
		},
		logParams: (runId: string, params: Record<string, unknown>) =>
			ok('POST', 'runs/log-batch', {
				run_id: runId,
				params: Object.entries(params).map(([key, value]) => ({ key, value: String(value) }))
			}),
		logParam: (runId: string, key: string, value: unknown) =>
			ok('POST', 'runs/log-parameter', { run_uuid: runId, run_id: runId, key, value: String(value) }),
		logMetrics: (runId: string, metrics: Record<string, number | string>, step?: number) =>
			ok('POST', 'runs/log-batch', {
				run_id: runId,
				metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: now(), step: step ?? 0 }))
			}),
		logMetric: (runId: string, key: string, value: number | string, step?: number) =>
			ok('POST', 'runs/log-metric', { run_uuid: runId, run_id: runId, key, value, timestamp: now(), step: step ?? 0 }),
		setTag: (runId: string, key: string, value: string) =>
			ok('POST', 'runs/set-tag', { run_uuid: runId, run_id: runId, key, value }),
		setTags: (runId: string, tags: Record<string, string>) =>
			ok('POST', 'runs/log-batch', {
				run_id: runId,
				tags: Object.entries(tags).map(([key, value]) => ({ key, value }))
			}),
		/** mlflow.end_run(status): set_terminated → update_run_info(status, end_time=now). */
		endRun: (runId: string, status = 'FINISHED') =>
			ok('POST', 'runs/update', { run_uuid: runId, run_id: runId, status, end_time: now() }),
		/** get_metric_history: pages of GET_METRIC_HISTORY_MAX_RESULTS (25,000), following next_page_token. */
		async history(runId: string, key: string, maxResults = 25_000) {
			const metrics: Answer[] = [];
			let pages = 0;
			let token: string | undefined;
			do {
				const query: Record<string, unknown> = {
					run_uuid: runId,
					run_id: runId,
					metric_key: key,
					max_results: maxResults
				};
				if (token) query.page_token = token;
				const page = await ok('GET', 'metrics/get-history', query);
				metrics.push(...(page.metrics ?? []));
				token = page.next_page_token;
				pages++;
			} while (token);
			return { metrics, pages };
		}
	};
}

describe.each(BACKENDS)('the MLflow tracking API (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer;
	let vapor: ReturnType<typeof apiClient>;
	let mlflow: ReturnType<typeof mlflowClient>;

	beforeAll(async () => {
		store = await createTestStore(backend);
		server = await startServer(store.env);
		vapor = apiClient(server.url);
		mlflow = mlflowClient(server.url);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	const series = async (jobId: string, key: string) => {
		const response = await fetch(`${server.url}/api/training/jobs/${jobId}/metrics?key=${encodeURIComponent(key)}`, {
			headers: { authorization: `Bearer ${TEST_TOKEN}` }
		});
		const body = (await response.json()) as { series: { key: string; values: SeriesValue[] }[] };
		return body.series[0]!.values;
	};

	it("a script's set_experiment, start_run, log_params, log_metrics, set_tag and end_run show up as a Vapor job", async () => {
		const experimentId = await mlflow.setExperiment('digits');
		// set_experiment again finds it by name.
		expect(await mlflow.setExperiment('digits')).toBe(experimentId);

		const run = await mlflow.startRun(experimentId, 'mlp baseline', { team: 'nlp' });
		const runId = run.info.run_id as string;
		expect(run.info).toMatchObject({
			run_uuid: runId,
			run_name: 'mlp baseline',
			experiment_id: experimentId,
			user_id: 'ada',
			status: 'RUNNING',
			lifecycle_stage: 'active',
			start_time: expect.any(Number)
		});
		expect(run.info.artifact_uri).toMatch(/^mlflow-artifacts:\//);

		await mlflow.logParams(runId, { lr: 0.001, epochs: 3 });
		await mlflow.logParam(runId, 'optimizer', 'adam');
		// The same value again is no change (a retried request).
		await mlflow.logParam(runId, 'lr', 0.001);
		for (let step = 0; step < 30; step++) {
			await mlflow.logMetrics(runId, { train_loss: 2 / (step + 1), train_accuracy: step / 30 }, step);
			if (step % 10 === 9) await mlflow.logMetric(runId, 'val_loss', 2.5 / (step + 1), step);
		}
		await mlflow.logMetric(runId, 'grad_norm', 'NaN', 29);
		await mlflow.setTag(runId, 'stage', 'tuning');
		await mlflow.setTags(runId, { stage: 'final', 'mlflow.note.content': 'the first baseline' });

		// Live in Vapor while it runs.
		const live = await vapor.getJob(runId);
		expect(live).toMatchObject({
			name: 'mlp baseline',
			source: 'external',
			status: 'running',
			currentStep: 30,
			config: { lr: '0.001', epochs: '3', optimizer: 'adam' },
			note: 'the first baseline',
			// The first loss-like key is the headline, its accuracy beside it.
			primaryMetric: 'train_loss',
			latestLoss: 2 / 30,
			latestAccuracy: 29 / 30
		});
		expect(live.tags).toEqual(['experiment=digits', 'team=nlp', 'stage=final']);
		const loss = await series(runId, 'train_loss');
		expect(loss).toHaveLength(30);
		expect(loss[0]).toMatchObject({ step: 1, value: 2 });
		expect(loss[29]).toMatchObject({ step: 30, value: 2 / 30 });
		expect((await series(runId, 'val_loss')).map((v) => v.step)).toEqual([10, 20, 30]);
		expect((await series(runId, 'grad_norm'))[0]).toMatchObject({ value: null, nonFinite: 'NaN' });

		await mlflow.endRun(runId);
		const done = await vapor.getJob(runId);
		expect(done).toMatchObject({ status: 'completed', finishedAt: expect.any(String) });

		// MLflow reads it back in its own terms: steps from 0, "NaN" as a string, millisecond times.
		const history = await mlflow.history(runId, 'train_loss');
		expect(history.metrics).toHaveLength(30);
		expect(history.metrics[0]).toEqual({ key: 'train_loss', value: 2, step: 0, timestamp: expect.any(Number) });
		expect(Math.abs(history.metrics[0].timestamp - Date.now())).toBeLessThan(120_000);
		expect((await mlflow.history(runId, 'grad_norm')).metrics).toEqual([
			{ key: 'grad_norm', value: 'NaN', step: 29, timestamp: expect.any(Number) }
		]);
		expect((await mlflow.history(runId, 'never logged')).metrics).toEqual([]);

		const { run: read } = (await mlflow.call('GET', 'runs/get', { run_id: runId })).body;
		expect(read.info).toMatchObject({ status: 'FINISHED', end_time: expect.any(Number), run_name: 'mlp baseline' });
		const tags = Object.fromEntries(read.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]));
		expect(tags).toMatchObject({
			'mlflow.runName': 'mlp baseline',
			'mlflow.user': 'ada',
			'mlflow.source.name': 'train.py',
			'mlflow.note.content': 'the first baseline',
			team: 'nlp',
			stage: 'final'
		});
		expect(read.data.params).toEqual(
			expect.arrayContaining([
				{ key: 'lr', value: '0.001' },
				{ key: 'epochs', value: '3' },
				{ key: 'optimizer', value: 'adam' }
			])
		);
		expect(read.data.metrics).toEqual(
			expect.arrayContaining([{ key: 'train_loss', value: 2 / 30, step: 29, timestamp: expect.any(Number) }])
		);
	});

	it('log-batch takes 1,000 metrics; 1,001, or a changed param, is refused and writes nothing of the batch', async () => {
		const run = await mlflow.startRun('0', 'batch limits');
		const runId = run.info.run_id as string;
		const metrics = (n: number, step: number) =>
			Array.from({ length: n }, (_, i) => ({
				key: `m${i % 500}`,
				value: i,
				timestamp: Date.now(),
				step: step + Math.floor(i / 500)
			}));

		expect((await mlflow.call('POST', 'runs/log-batch', { run_id: runId, metrics: metrics(1000, 0) })).status).toBe(
			200
		);
		expect((await vapor.getJob(runId)).currentStep).toBe(2);

		const tooMany = await mlflow.call('POST', 'runs/log-batch', { run_id: runId, metrics: metrics(1001, 10) });
		expect(tooMany).toEqual({
			status: 400,
			body: {
				error_code: 'INVALID_PARAMETER_VALUE',
				message:
					'A batch logging request can contain at most 1000 metrics. Got 1001 metrics. ' +
					'Please split up metrics across multiple requests and try again.'
			}
		});
		const params = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: String(i) }));
		expect((await mlflow.call('POST', 'runs/log-batch', { run_id: runId, params })).body).toMatchObject({
			error_code: 'INVALID_PARAMETER_VALUE',
			message: expect.stringContaining('at most 100 params')
		});
		expect((await mlflow.call('POST', 'runs/log-batch', { run_id: runId, tags: params })).body.message).toMatch(
			/at most 100 tags/
		);

		await mlflow.logParams(runId, { lr: '0.01' });
		// A changed param in a batch with new metrics and tags: the whole batch is refused.
		const changed = await mlflow.call('POST', 'runs/log-batch', {
			run_id: runId,
			metrics: [{ key: 'fresh', value: 1, timestamp: Date.now(), step: 5 }],
			params: [
				{ key: 'batch', value: '64' },
				{ key: 'lr', value: '0.02' }
			],
			tags: [{ key: 'late', value: 'yes' }]
		});
		expect(changed.status).toBe(400);
		expect(changed.body.error_code).toBe('INVALID_PARAMETER_VALUE');
		expect(changed.body.message).toMatch(
			/^Changing param values is not allowed. Param with key='lr' was already logged with value='0.01'/
		);
		// A value at a stored step with another value: refused, named by MLflow's step.
		const clash = await mlflow.call('POST', 'runs/log-batch', {
			run_id: runId,
			metrics: [
				{ key: 'fresh', value: 1, timestamp: Date.now(), step: 5 },
				{ key: 'm0', value: 123, timestamp: Date.now(), step: 0 }
			]
		});
		expect(clash.status).toBe(400);
		expect(clash.body).toMatchObject({
			error_code: 'INVALID_PARAMETER_VALUE',
			message: expect.stringMatching(/"m0" at step 0 is already stored/)
		});

		const job = await vapor.getJob(runId);
		expect(job.config).toEqual({ lr: '0.01' });
		expect(job.tags).not.toContain('late=yes');
		expect(await series(runId, 'fresh')).toEqual([]);
		expect((await series(runId, 'm0')).map((v) => v.value)).toEqual([0, 500]);
	});

	it('a run resumed by run_id runs again, takes later steps, and ends as the script says', async () => {
		const experimentId = await mlflow.setExperiment('resumed');
		const run = await mlflow.startRun(experimentId, 'resume me');
		const runId = run.info.run_id as string;
		await mlflow.logMetrics(runId, { loss: 1 }, 0);
		await mlflow.logMetrics(runId, { loss: 0.8 }, 1);
		await mlflow.endRun(runId, 'KILLED');
		expect((await vapor.getJob(runId)).status).toBe('stopped');

		const info = await mlflow.resumeRun(runId);
		expect(info).toMatchObject({ run_id: runId, status: 'RUNNING', experiment_id: experimentId });
		expect(await vapor.getJob(runId)).toMatchObject({ status: 'running', finishedAt: null, error: null });
		await mlflow.logMetrics(runId, { loss: 0.6 }, 2);
		await mlflow.endRun(runId, 'FAILED');
		expect(await vapor.getJob(runId)).toMatchObject({ status: 'failed', error: expect.stringMatching(/FAILED/) });

		await mlflow.resumeRun(runId);
		await mlflow.logMetric(runId, 'loss', 0.5, 3);
		await mlflow.endRun(runId);
		expect(await vapor.getJob(runId)).toMatchObject({ status: 'completed', currentStep: 4 });
		expect((await mlflow.history(runId, 'loss')).metrics.map((m) => m.value)).toEqual([1, 0.8, 0.6, 0.5]);
		// In pages of 3: the token carries on where the page ended.
		const paged = await mlflow.history(runId, 'loss', 3);
		expect(paged.pages).toBe(2);
		expect(paged.metrics.map((m) => m.step)).toEqual([0, 1, 2, 3]);
		// A finished run takes no points until it is resumed.
		const late = await mlflow.call('POST', 'runs/log-metric', {
			run_id: runId,
			key: 'loss',
			value: 0.4,
			timestamp: Date.now(),
			step: 4
		});
		expect(late).toMatchObject({
			status: 400,
			body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringMatching(/completed/) }
		});
	});

	it('answers mistakes in MLflow’s error shape, and says what Vapor does not store', async () => {
		const missingRun = await mlflow.call('GET', 'runs/get', { run_id: '8c4f2a0e-1b7d-4c3a-9e5f-0a1b2c3d4e5f' });
		expect(missingRun).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
		expect((await mlflow.call('GET', 'runs/get', { run_id: 'not-a-run' })).status).toBe(404);
		expect((await mlflow.call('GET', 'experiments/get', { experiment_id: '999' })).body.error_code).toBe(
			'RESOURCE_DOES_NOT_EXIST'
		);
		expect(await mlflow.call('POST', 'runs/create', { experiment_id: 'x' })).toMatchObject({
			status: 404,
			body: { error_code: 'RESOURCE_DOES_NOT_EXIST' }
		});
		await mlflow.setExperiment('taken');
		expect(await mlflow.call('POST', 'experiments/create', { name: 'taken' })).toMatchObject({
			status: 400,
			body: { error_code: 'RESOURCE_ALREADY_EXISTS' }
		});
		expect((await mlflow.call('POST', 'experiments/create', {})).body).toMatchObject({
			error_code: 'INVALID_PARAMETER_VALUE',
			message: expect.stringContaining("'name'")
		});

		const run = await mlflow.startRun('0', 'mistakes');
		const runId = run.info.run_id as string;
		const bad = await mlflow.call('POST', 'runs/log-metric', {
			run_id: runId,
			key: 'loss',
			value: 'low',
			timestamp: 1
		});
		expect(bad).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
		const raw = await fetch(`${server.url}/api/2.0/mlflow/runs/log-batch`, {
			method: 'POST',
			headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
			body: '{"run_id": '
		});
		expect(raw.status).toBe(400);
		expect(await raw.json()).toMatchObject({ error_code: 'BAD_REQUEST' });
		expect((await mlflow.call('GET', 'runs/create')).status).toBe(405);

		// MLFLOW_TRACKING_TOKEN unset, or wrong: MLflow's UNAUTHENTICATED.
		const anonymous = mlflowClient(server.url, null);
		expect(await anonymous.call('POST', 'runs/log-metric', { run_id: runId })).toMatchObject({
			status: 401,
			body: { error_code: 'UNAUTHENTICATED', message: expect.stringContaining('Bearer') }
		});
		expect(
			(
				await mlflowClient(server.url, 'vpr_wrong-token-000000000000000000000000000').call('GET', 'runs/get', {
					run_id: runId
				})
			).body.error_code
		).toBe('UNAUTHENTICATED');

		// A read token reads, and may not write: MLflow's PERMISSION_DENIED.
		const session = await signIn(server.url);
		const minted = await fetch(`${server.url}/settings?/create`, {
			method: 'POST',
			headers: {
				origin: server.url,
				cookie: `${session.name}=${session.value}`,
				'content-type': 'application/x-www-form-urlencoded',
				'x-sveltekit-action': 'true'
			},
			body: new URLSearchParams({ name: 'mlflow reader', scope: 'read' })
		});
		const readToken = /vpr_[\w-]{43}/.exec(await minted.text())![0];
		const reader = mlflowClient(server.url, readToken);
		expect((await reader.call('GET', 'runs/get', { run_id: runId })).status).toBe(200);
		expect(await reader.call('POST', 'runs/set-tag', { run_id: runId, key: 'k', value: 'v' })).toMatchObject({
			status: 403,
			body: { error_code: 'PERMISSION_DENIED' }
		});

		// Outside the subset: artifacts, models and searches.
		for (const [method, path] of [
			['POST', 'runs/search'],
			['GET', 'artifacts/list'],
			['POST', 'registered-models/create']
		] as const) {
			const answer = await mlflow.call(method, path, { run_id: runId });
			expect(answer.status).toBe(404);
			expect(answer.body).toMatchObject({
				error_code: 'ENDPOINT_NOT_FOUND',
				message: expect.stringMatching(/^Vapor does not store/)
			});
		}
		const upload = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/model.pkl`, {
			method: 'PUT',
			headers: { authorization: `Bearer ${TEST_TOKEN}` },
			body: 'bytes'
		});
		expect(upload.status).toBe(404);
		expect(await upload.json()).toMatchObject({
			error_code: 'ENDPOINT_NOT_FOUND',
			message: expect.stringContaining('artifacts')
		});
		// None of it disturbed the run.
		expect((await vapor.getJob(runId)).status).toBe('running');
	});
});

describe.each(BACKENDS)('the MLflow experiments migration (%s)', (backend) => {
	const BEFORE = '2026-12-01T0500_job-contact';

	it('adds experiments (with Default as 0) and runs beside existing jobs, and goes down again leaving them', async () => {
		const handle = await openTestDatabase(backend);
		try {
			await migrateTo(handle.db, BEFORE);
			const { rows } = await sql<{ id: string }>`
				insert into jobs (name, base_model, dataset, epochs, learning_rate, batch_size, seed, status, source, tags, config)
				values ('older run', 'custom', 'custom', 3, 0.001, 32, 1, 'completed', 'external', '{baseline}', '{"lr": 0.1}')
				returning id`.execute(handle.db);
			const jobId = rows[0]!.id;

			await migrateToLatest(handle.db);
			const experiments = await sql<{ id: number; name: string }>`select id, name from mlflow_experiments`.execute(
				handle.db
			);
			expect(experiments.rows).toEqual([{ id: 0, name: 'Default' }]);
			// New experiments count from 1; names are unique.
			await sql`insert into mlflow_experiments (name) values ('digits')`.execute(handle.db);
			expect(
				(await sql<{ id: number }>`select id from mlflow_experiments where name = 'digits'`.execute(handle.db)).rows
			).toEqual([{ id: 1 }]);
			await expect(sql`insert into mlflow_experiments (name) values ('digits')`.execute(handle.db)).rejects.toThrow();
			await sql`insert into mlflow_runs (job_id, experiment_id, tags) values (${jobId}, 1, '{"team": "nlp"}')`.execute(
				handle.db
			);
			const job = await sql<{
				name: string;
				tags: string[];
				config: unknown;
			}>`select name, tags, config from jobs`.execute(handle.db);
			expect(job.rows).toEqual([{ name: 'older run', tags: ['baseline'], config: { lr: 0.1 } }]);

			await migrateTo(handle.db, BEFORE);
			const tables = await sql<{ name: string }>`
				select table_name as name from information_schema.tables where table_name like 'mlflow%'`.execute(handle.db);
			expect(tables.rows).toEqual([]);
			expect((await sql`select id from jobs`.execute(handle.db)).rows).toHaveLength(1);

			// Up again, and a job deleted in Vapor takes its MLflow row with it.
			await migrateToLatest(handle.db);
			await sql`insert into mlflow_runs (job_id, experiment_id) values (${jobId}, 0)`.execute(handle.db);
			await sql`delete from jobs where id = ${jobId}`.execute(handle.db);
			expect((await sql`select job_id from mlflow_runs`.execute(handle.db)).rows).toEqual([]);
		} finally {
			await handle.dispose();
		}
	});
});
