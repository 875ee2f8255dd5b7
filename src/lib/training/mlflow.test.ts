import { describe, expect, it } from 'vitest';
import {
	choosePrimaryMetric,
	jobNameOf,
	metricRows,
	mirroredTags,
	MlflowProblem,
	parseCreateRun,
	parseHistoryRequest,
	parseLogBatch,
	parseMetric,
	parseUpdateRun,
	toMlflowStatus,
	toMlflowValue
} from './mlflow';

const problem = (work: () => unknown) => {
	try {
		work();
	} catch (error) {
		if (error instanceof MlflowProblem) return { code: error.code, status: error.status, message: error.message };
		throw error;
	}
	throw new Error('expected an MlflowProblem');
};

const metric = (key: string, value: unknown, step = 0, timestamp = 1_764_633_600_000) => ({
	key,
	value,
	timestamp,
	step
});

describe('parseMetric', () => {
	it('reads numbers, proto JSON non-finite strings and int64 strings', () => {
		expect(parseMetric(metric('loss', 0.5, 3))).toEqual({
			key: 'loss',
			value: 0.5,
			step: 3,
			timestamp: 1_764_633_600_000
		});
		expect(parseMetric(metric('loss', 'NaN')).value).toBeNaN();
		expect(parseMetric(metric('loss', '-Infinity')).value).toBe(-Infinity);
		expect(parseMetric({ key: 'lr', value: 1, timestamp: '1764633600000', step: '7' })).toMatchObject({
			timestamp: 1_764_633_600_000,
			step: 7
		});
		// No step: MLflow's 0.
		expect(parseMetric({ key: 'lr', value: 1, timestamp: 5 }).step).toBe(0);
	});

	it('refuses what MLflow refuses, as INVALID_PARAMETER_VALUE', () => {
		expect(problem(() => parseMetric({ key: 'loss', value: 1 }))).toMatchObject({
			code: 'INVALID_PARAMETER_VALUE',
			status: 400,
			message: expect.stringContaining("'timestamp'")
		});
		expect(problem(() => parseMetric(metric('loss', 'high'))).message).toMatch(/must be a number/);
		expect(problem(() => parseMetric(metric('bad key!', 1))).message).toMatch(/Invalid metric name 'bad key!'/);
		expect(problem(() => parseMetric(metric('loss', 1, -1))).message).toMatch(/step -1/);
		expect(problem(() => parseLogBatch({ run_id: 'r', metrics: [1] }))).toMatchObject({
			code: 'BAD_REQUEST',
			message: 'A metric must be a JSON object, as the mlflow client sends it.'
		});
	});
});

describe('parseLogBatch', () => {
	const many = (n: number, make: (i: number) => unknown) => Array.from({ length: n }, (_, i) => make(i));

	it('takes 1,000 metrics, 100 params and 100 tags, and refuses one more of each', () => {
		const full = parseLogBatch({ run_id: 'r', metrics: many(1000, (i) => metric(`m${i}`, i)) });
		expect(full.metrics).toHaveLength(1000);
		expect(problem(() => parseLogBatch({ run_id: 'r', metrics: many(1001, (i) => metric(`m${i}`, i)) })).message).toBe(
			'A batch logging request can contain at most 1000 metrics. Got 1001 metrics. ' +
				'Please split up metrics across multiple requests and try again.'
		);
		const params = (n: number) => many(n, (i) => ({ key: `p${i}`, value: String(i) }));
		expect(parseLogBatch({ run_id: 'r', params: params(100) }).params).toHaveLength(100);
		expect(problem(() => parseLogBatch({ run_id: 'r', params: params(101) })).message).toMatch(/at most 100 params/);
		expect(problem(() => parseLogBatch({ run_id: 'r', tags: params(101) })).message).toMatch(/at most 100 tags/);
		expect(
			problem(() => parseLogBatch({ run_id: 'r', metrics: many(950, (i) => metric(`m${i}`, i)), params: params(51) }))
				.message
		).toMatch(/at most 1000 metrics, params, and tags in total/);
	});

	it('needs a run id, and one value per param key', () => {
		expect(problem(() => parseLogBatch({ metrics: [] })).message).toMatch(/'run_id'/);
		expect(parseLogBatch({ run_uuid: 'old', metrics: [] }).runId).toBe('old');
		expect(
			problem(() =>
				parseLogBatch({
					run_id: 'r',
					params: [
						{ key: 'lr', value: '0.1' },
						{ key: 'lr', value: '0.2' }
					]
				})
			).message
		).toMatch(/Duplicate parameter keys/);
	});
});

describe('metricRows', () => {
	it('moves steps up by one, groups a step and time into one row, and keeps one value per step of a key', () => {
		const rows = metricRows([
			parseMetric(metric('loss', 0.9, 1, 2000)),
			parseMetric(metric('loss', 1.0, 0, 1000)),
			parseMetric(metric('acc', 0.1, 0, 1000)),
			parseMetric(metric('loss', 1.0, 0, 1500))
		]);
		expect(rows).toEqual([
			{ step: 1, epoch: undefined, recordedAt: '1970-01-01T00:00:01.000Z', values: { loss: 1, acc: 0.1 }, signals: [] },
			{ step: 2, epoch: undefined, recordedAt: '1970-01-01T00:00:02.000Z', values: { loss: 0.9 }, signals: [] }
		]);
		expect(
			problem(() => metricRows([parseMetric(metric('loss', 1, 0)), parseMetric(metric('loss', 2, 0, 7))])).message
		).toMatch(/logged twice at step 0 with different values/);
		// NaN twice is the same value.
		expect(metricRows([parseMetric(metric('loss', 'NaN')), parseMetric(metric('loss', 'NaN', 0, 9))])).toHaveLength(1);
	});
});

describe('runs', () => {
	it('reads runs/create with the default experiment and runs/update statuses', () => {
		expect(parseCreateRun({ user_id: 'ada', start_time: 5, tags: [{ key: 'mlflow.runName', value: 'r' }] })).toEqual({
			experimentId: '0',
			userId: 'ada',
			startTime: 5,
			runName: undefined,
			tags: [{ key: 'mlflow.runName', value: 'r' }]
		});
		expect(parseUpdateRun({ run_id: 'x', status: 'KILLED', end_time: 9 })).toEqual({
			runId: 'x',
			status: 'KILLED',
			runName: undefined
		});
		expect(problem(() => parseUpdateRun({ run_id: 'x', status: 'DONE' })).message).toMatch(/RUNNING, SCHEDULED/);
		expect(toMlflowStatus('stopped')).toBe('KILLED');
		expect(toMlflowStatus('completed')).toBe('FINISHED');
	});

	it('reads get-history queries and page tokens', () => {
		expect(parseHistoryRequest(new URLSearchParams('run_id=a&run_uuid=a&metric_key=loss'))).toEqual({
			runId: 'a',
			key: 'loss',
			maxResults: 25_000,
			afterStep: 0
		});
		expect(
			parseHistoryRequest(new URLSearchParams('run_id=a&metric_key=loss&max_results=5&page_token=40'))
		).toMatchObject({ maxResults: 5, afterStep: 40 });
		expect(problem(() => parseHistoryRequest(new URLSearchParams('run_id=a'))).message).toMatch(/'metric_key'/);
	});
});

describe('choosePrimaryMetric', () => {
	it('takes the first loss-like key of the first metrics, else the first key', () => {
		expect(choosePrimaryMetric(['train_accuracy', 'train_loss', 'val_loss'], 'loss')).toBe('train_loss');
		expect(choosePrimaryMetric(['accuracy', 'lr'], 'loss')).toBe('accuracy');
		expect(choosePrimaryMetric(['loss', 'acc'], 'loss')).toBeUndefined();
		expect(choosePrimaryMetric([], 'loss')).toBeUndefined();
	});
});

describe('values and tags', () => {
	it('makes a run name a one-line job name, refusing control characters', () => {
		expect(jobNameOf('  mlp\n baseline ')).toBe('mlp baseline');
		expect(jobNameOf('x'.repeat(300))).toHaveLength(100);
		expect(problem(() => jobNameOf('bad\u0000name')).code).toBe('INVALID_PARAMETER_VALUE');
	});

	it('writes non-finite values as proto JSON strings', () => {
		expect([NaN, Infinity, -Infinity, 0.25].map(toMlflowValue)).toEqual(['NaN', 'Infinity', '-Infinity', 0.25]);
	});

	it('mirrors user tags as key=value, replacing an earlier value, and leaves system tags out', () => {
		const first = mirroredTags(
			['experiment=digits'],
			[
				{ key: 'team', value: 'nlp' },
				{ key: 'mlflow.user', value: 'ada' },
				{ key: 'baseline', value: '' }
			]
		);
		expect(first).toEqual(['experiment=digits', 'team=nlp', 'baseline']);
		expect(mirroredTags(first, [{ key: 'team', value: 'vision' }])).toEqual([
			'experiment=digits',
			'baseline',
			'team=vision'
		]);
		expect(mirroredTags(first, [{ key: 'team', value: 'two\nlines' }])).toEqual(['experiment=digits', 'baseline']);
		// Too long for a Vapor tag: the old value goes, the new one stays in MLflow's tags only.
		expect(mirroredTags(first, [{ key: 'team', value: 'x'.repeat(80) }])).toEqual(['experiment=digits', 'baseline']);
	});
});
