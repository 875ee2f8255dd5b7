/**
 * The MLflow tracking API's requests as Vapor reads them (the subset the `mlflow` client
 * calls for set_experiment, start_run, log_param(s), log_metric(s), set_tag(s), end_run),
 * and the mapping between MLflow's and Vapor's words. Pure: shared by the server and tests.
 * Shapes and limits as in MLflow's service.proto and its server's validation.
 */
import { keyProblem } from './metrics';
import { MAX_STEP, type IngestRow } from './ingest-input';
import type { JobStatus } from './job';
import { TAG_MAX_LENGTH, TAGS_MAX } from './run-limits';
import { unsafeTextProblem } from './text-safety';

/** MLflow's error codes (databricks.proto) that Vapor answers with, and their HTTP status. */
export const MLFLOW_ERROR_STATUS = {
	INVALID_PARAMETER_VALUE: 400,
	BAD_REQUEST: 400,
	RESOURCE_ALREADY_EXISTS: 400,
	RESOURCE_DOES_NOT_EXIST: 404,
	ENDPOINT_NOT_FOUND: 404,
	UNAUTHENTICATED: 401,
	PERMISSION_DENIED: 403,
	REQUEST_LIMIT_EXCEEDED: 429,
	INTERNAL_ERROR: 500,
	TEMPORARILY_UNAVAILABLE: 503
} as const;
export type MlflowErrorCode = keyof typeof MLFLOW_ERROR_STATUS;

/** A request Vapor refuses, in MLflow's words: `{ "error_code": …, "message": … }`. */
export class MlflowProblem extends Error {
	constructor(
		readonly code: MlflowErrorCode,
		message: string
	) {
		super(message);
	}
	get status(): number {
		return MLFLOW_ERROR_STATUS[this.code];
	}
}

const invalid = (message: string) => new MlflowProblem('INVALID_PARAMETER_VALUE', message);

/** MLflow's limits (mlflow/utils/validation.py). */
export const MLFLOW_LIMITS = {
	metricsPerBatch: 1_000,
	paramsPerBatch: 100,
	tagsPerBatch: 100,
	entitiesPerBatch: 1_000,
	keyLength: 250,
	paramValueLength: 6_000,
	tagValueLength: 8_000,
	experimentNameLength: 500
} as const;

/** The experiment every MLflow server has, used when a script sets none. */
export const DEFAULT_EXPERIMENT_ID = '0';

export interface MlflowMetric {
	key: string;
	/** NaN and ±Infinity as such. */
	value: number;
	/** Milliseconds since the epoch. */
	timestamp: number;
	/** MLflow's step (0 when the script gave none). */
	step: number;
}

export interface MlflowEntry {
	key: string;
	value: string;
}

type Body = Record<string, unknown>;

const missing = (field: string) =>
	invalid(
		`Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`
	);

/** A request body or query as an object; anything else is refused. */
export function asBody(input: unknown, what = 'The request body'): Body {
	if (input === null || typeof input !== 'object' || Array.isArray(input))
		throw new MlflowProblem('BAD_REQUEST', `${what} must be a JSON object, as the mlflow client sends it.`);
	return input as Body;
}

function text(body: Body, field: string, { required = false } = {}): string | undefined {
	const value = body[field];
	if (value === undefined || value === null || value === '') {
		if (required) throw missing(field);
		return undefined;
	}
	if (typeof value !== 'string')
		throw invalid(`Invalid value ${JSON.stringify(value)} for parameter '${field}': it must be a string.`);
	return value;
}

/** An int64: proto JSON sends it as a number or a decimal string (and a GET query as text). */
function int64(body: Body, field: string, { required = false } = {}): number | undefined {
	const value = body[field];
	if (value === undefined || value === null || value === '') {
		if (required) throw missing(field);
		return undefined;
	}
	const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
	if (typeof number !== 'number' || !Number.isSafeInteger(number))
		throw invalid(`Invalid value ${JSON.stringify(value)} for parameter '${field}': it must be a whole number.`);
	return number;
}

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** A double: a number, or proto JSON's "NaN", "Infinity", "-Infinity" (JSON has none of them). */
function double(body: Body, field: string, where: string): number {
	const value = body[field];
	if (value === undefined || value === null) throw missing(field);
	if (typeof value === 'number') return value;
	if (typeof value === 'string' && value in NON_FINITE) return NON_FINITE[value]!;
	if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
	throw invalid(
		`Got invalid value ${JSON.stringify(value)} for metric '${where}': ` +
			'a metric value must be a number, or "NaN", "Infinity" or "-Infinity".'
	);
}

/** The run a request names: `run_id`, or the older `run_uuid` the client sends beside it. */
export function runIdOf(body: Body): string {
	const id = text(body, 'run_id') ?? text(body, 'run_uuid');
	if (!id) throw missing('run_id');
	return id;
}

function checkKey(kind: 'metric' | 'param' | 'tag', key: string): void {
	if (key.length > MLFLOW_LIMITS.keyLength)
		throw invalid(
			`${kind} name '${key.slice(0, 40)}…' is ${key.length} characters; at most ${MLFLOW_LIMITS.keyLength}.`
		);
	const problem = keyProblem(key);
	if (problem)
		throw invalid(
			`Invalid ${kind} name '${key.slice(0, 60)}': ${problem.replace(/^a metric key|^metric key/, 'a name')}`
		);
}

export function parseMetric(raw: unknown): MlflowMetric {
	const body = asBody(raw, 'A metric');
	const key = text(body, 'key', { required: true })!;
	checkKey('metric', key);
	const value = double(body, 'value', key);
	const timestamp = int64(body, 'timestamp', { required: true })!;
	const step = int64(body, 'step') ?? 0;
	if (step < 0 || step >= MAX_STEP)
		throw invalid(`Metric '${key}' has step ${step}: Vapor takes steps from 0 to ${MAX_STEP - 1}.`);
	return { key, value, timestamp, step };
}

export function parseParam(raw: unknown): MlflowEntry {
	const body = asBody(raw, 'A param');
	const key = text(body, 'key', { required: true })!;
	checkKey('param', key);
	const value = typeof body.value === 'string' ? body.value : text(body, 'value', { required: true })!;
	if (value.length > MLFLOW_LIMITS.paramValueLength)
		throw invalid(
			`Param '${key}' has a value of ${value.length} characters; at most ${MLFLOW_LIMITS.paramValueLength}.`
		);
	const unsafe = unsafeTextProblem(`The value of param '${key}'`, value);
	if (unsafe) throw invalid(unsafe);
	return { key, value };
}

export function parseTag(raw: unknown): MlflowEntry {
	const body = asBody(raw, 'A tag');
	const key = text(body, 'key', { required: true })!;
	checkKey('tag', key);
	const value = body.value === undefined || body.value === null ? '' : body.value;
	if (typeof value !== 'string') throw invalid(`The value of tag '${key}' must be a string.`);
	if (value.length > MLFLOW_LIMITS.tagValueLength)
		throw invalid(`Tag '${key}' has a value of ${value.length} characters; at most ${MLFLOW_LIMITS.tagValueLength}.`);
	const unsafe = unsafeTextProblem(`The value of tag '${key}'`, value.replace(/[\n\r\t]/g, ' '));
	if (unsafe) throw invalid(unsafe);
	return { key, value };
}

function list(body: Body, field: string): unknown[] {
	const value = body[field];
	if (value === undefined || value === null) return [];
	if (!Array.isArray(value)) throw invalid(`'${field}' must be a list.`);
	return value;
}

export interface LogBatch {
	runId: string;
	metrics: MlflowMetric[];
	params: MlflowEntry[];
	tags: MlflowEntry[];
}

/** runs/log-batch, within MLflow's limits: 1,000 metrics, 100 params, 100 tags, 1,000 in all. */
export function parseLogBatch(input: unknown): LogBatch {
	const body = asBody(input);
	const runId = runIdOf(body);
	const rawMetrics = list(body, 'metrics');
	const rawParams = list(body, 'params');
	const rawTags = list(body, 'tags');
	const over = (count: number, limit: number, noun: string) =>
		count > limit &&
		invalid(
			`A batch logging request can contain at most ${limit} ${noun}. Got ${count} ${noun}. ` +
				`Please split up ${noun} across multiple requests and try again.`
		);
	const tooMany =
		over(rawMetrics.length, MLFLOW_LIMITS.metricsPerBatch, 'metrics') ||
		over(rawParams.length, MLFLOW_LIMITS.paramsPerBatch, 'params') ||
		over(rawTags.length, MLFLOW_LIMITS.tagsPerBatch, 'tags');
	if (tooMany) throw tooMany;
	const total = rawMetrics.length + rawParams.length + rawTags.length;
	if (total > MLFLOW_LIMITS.entitiesPerBatch)
		throw invalid(
			`A batch logging request can contain at most ${MLFLOW_LIMITS.entitiesPerBatch} metrics, params, and tags in total. ` +
				`Got ${total}. Please split up across multiple requests and try again.`
		);
	const params = rawParams.map(parseParam);
	const seen = new Map<string, string>();
	for (const param of params) {
		const earlier = seen.get(param.key);
		if (earlier !== undefined && earlier !== param.value)
			throw invalid(`Duplicate parameter keys have been submitted: '${param.key}' with different values.`);
		seen.set(param.key, param.value);
	}
	return { runId, metrics: rawMetrics.map(parseMetric), params, tags: rawTags.map(parseTag) };
}

export interface NewMlflowRun {
	experimentId: string;
	userId: string;
	startTime: number | undefined;
	runName: string | undefined;
	tags: MlflowEntry[];
}

export function parseCreateRun(input: unknown): NewMlflowRun {
	const body = asBody(input);
	const rawTags = list(body, 'tags');
	if (rawTags.length > MLFLOW_LIMITS.tagsPerBatch)
		throw invalid(`A run is created with at most ${MLFLOW_LIMITS.tagsPerBatch} tags; got ${rawTags.length}.`);
	return {
		experimentId: text(body, 'experiment_id') ?? DEFAULT_EXPERIMENT_ID,
		userId: text(body, 'user_id') ?? '',
		startTime: int64(body, 'start_time'),
		runName: text(body, 'run_name'),
		tags: rawTags.map(parseTag)
	};
}

export const MLFLOW_RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type MlflowRunStatus = (typeof MLFLOW_RUN_STATUSES)[number];

export interface RunUpdate {
	runId: string;
	status: MlflowRunStatus | undefined;
	runName: string | undefined;
}

export function parseUpdateRun(input: unknown): RunUpdate {
	const body = asBody(input);
	const status = body.status;
	if (status !== undefined && status !== null && !MLFLOW_RUN_STATUSES.includes(status as MlflowRunStatus))
		throw invalid(`Invalid run status ${JSON.stringify(status)}: one of ${MLFLOW_RUN_STATUSES.join(', ')}.`);
	int64(body, 'end_time');
	return {
		runId: runIdOf(body),
		status: (status ?? undefined) as MlflowRunStatus | undefined,
		runName: text(body, 'run_name')
	};
}

export interface NewExperiment {
	name: string;
	artifactLocation: string | undefined;
	tags: MlflowEntry[];
}

export function parseCreateExperiment(input: unknown): NewExperiment {
	const body = asBody(input);
	const name = experimentName(body);
	return { name, artifactLocation: text(body, 'artifact_location'), tags: list(body, 'tags').map(parseTag) };
}

/** `name` of experiments/create, `experiment_name` of experiments/get-by-name. */
export function experimentName(body: Body, field: 'name' | 'experiment_name' = 'name'): string {
	const name = text(body, field, { required: true })!;
	if (name.length > MLFLOW_LIMITS.experimentNameLength)
		throw invalid(
			`An experiment name is at most ${MLFLOW_LIMITS.experimentNameLength} characters; this one is ${name.length}.`
		);
	const unsafe = unsafeTextProblem('An experiment name', name);
	if (unsafe) throw invalid(unsafe);
	return name;
}

export function experimentIdOf(body: Body): string {
	return text(body, 'experiment_id', { required: true })!;
}

/** An experiment id as stored (a whole number); undefined for one no experiment can have. */
export function storedExperimentId(id: string): number | undefined {
	return /^\d{1,9}$/.test(id) ? Number(id) : undefined;
}

export interface HistoryRequest {
	runId: string;
	key: string;
	maxResults: number;
	/** The Vapor step after which to go on. */
	afterStep: number;
}

/** What one metrics/get-history answer holds at most (the rest follows by page_token). */
export const HISTORY_PAGE_MAX = 25_000;

export function parseHistoryRequest(params: URLSearchParams): HistoryRequest {
	const body = Object.fromEntries(params);
	const runId = runIdOf(body);
	const key = text(body, 'metric_key', { required: true })!;
	const maxResults = int64(body, 'max_results') ?? HISTORY_PAGE_MAX;
	if (maxResults < 1) throw invalid(`max_results must be at least 1; got ${maxResults}.`);
	const token = text(body, 'page_token');
	if (token !== undefined && !/^\d{1,10}$/.test(token))
		throw invalid(`page_token "${token.slice(0, 40)}" was not made by this server.`);
	return {
		runId,
		key,
		maxResults: Math.min(maxResults, HISTORY_PAGE_MAX),
		afterStep: token === undefined ? 0 : Number(token)
	};
}

/** Vapor's steps start at 1; MLflow's at 0 (a script that gives no step logs at 0): Vapor's step is MLflow's + 1. */
export const toVaporStep = (mlflowStep: number) => mlflowStep + 1;
export const toMlflowStep = (vaporStep: number) => vaporStep - 1;

/** A double as proto JSON writes it: "NaN", "Infinity" and "-Infinity" as strings. */
export function toMlflowValue(value: number): number | string {
	if (Number.isNaN(value)) return 'NaN';
	if (value === Infinity) return 'Infinity';
	if (value === -Infinity) return '-Infinity';
	return value;
}

/** What an ended MLflow run becomes in Vapor. */
export const ENDED_STATUS: Record<'FINISHED' | 'FAILED' | 'KILLED', 'completed' | 'failed' | 'stopped'> = {
	FINISHED: 'completed',
	FAILED: 'failed',
	KILLED: 'stopped'
};

export function toMlflowStatus(status: JobStatus): MlflowRunStatus {
	const statuses: Record<JobStatus, MlflowRunStatus> = {
		queued: 'SCHEDULED',
		running: 'RUNNING',
		completed: 'FINISHED',
		failed: 'FAILED',
		stopped: 'KILLED'
	};
	return statuses[status];
}

/** MLflow's own tags (`mlflow.user`, `mlflow.source.name`, …) are kept for MLflow, not shown as Vapor tags. */
export const isSystemTag = (key: string) => key.startsWith('mlflow.');
export const RUN_NAME_TAG = 'mlflow.runName';
export const NOTE_TAG = 'mlflow.note.content';
/** Optional, at runs/create: the key of the headline chart (Vapor's primaryMetric), such as "train_loss". */
export const PRIMARY_METRIC_TAG = 'vapor.primaryMetric';

const tagText = (key: string, value: string) => (value === '' ? key : `${key}=${value}`);

/**
 * The job's tags after MLflow tags are set: a user tag `team` = `nlp` is the Vapor tag
 * `team=nlp` (a tag with no value is its key alone), replacing the tag of an earlier value
 * of that key. System tags are not mirrored; nor a tag longer than Vapor's 64 characters,
 * nor one past Vapor's 50 tags (MLflow keeps all of them: runs/get returns them).
 */
export function mirroredTags(current: readonly string[], set: readonly MlflowEntry[]): string[] {
	let tags = [...current];
	for (const { key, value } of set) {
		if (isSystemTag(key) || key === PRIMARY_METRIC_TAG) continue;
		const wanted = tagText(key, value);
		const others = tags.filter((tag) => tag !== key && !tag.startsWith(`${key}=`));
		if (
			wanted.length > TAG_MAX_LENGTH ||
			/[\n\r\t]/.test(wanted) ||
			(others.length >= TAGS_MAX && !others.includes(wanted))
		) {
			tags = others;
			continue;
		}
		tags = [...others, wanted];
	}
	return tags;
}

/**
 * The headline key of an MLflow run that did not name one (tag vapor.primaryMetric): its
 * first metrics choose it, the first key ending in "loss" (train_loss, val/loss), else the
 * first key. Undefined: keep the current one (it is among them, or chosen already).
 */
export function choosePrimaryMetric(batchKeys: readonly string[], current: string): string | undefined {
	if (batchKeys.length === 0 || batchKeys.includes(current)) return undefined;
	return batchKeys.find((key) => /loss$/i.test(key)) ?? batchKeys[0];
}

/** The Vapor tag that names a run's experiment, when it fits. */
export function experimentTag(name: string): string | undefined {
	const tag = `experiment=${name}`;
	return tag.length <= TAG_MAX_LENGTH ? tag : undefined;
}

/** A run name as a Vapor job name (at most 100 characters, one line); control characters are refused. */
export function jobNameOf(runName: string): string {
	const unsafe = unsafeTextProblem('A run name', runName.replace(/[\n\r\t]/g, ' '));
	if (unsafe) throw invalid(unsafe);
	const name = runName.replace(/\s+/g, ' ').trim().slice(0, 100);
	return name === '' ? 'MLflow run' : name;
}

/**
 * MLflow metrics as Vapor's rows: step + 1, the timestamp as recordedAt. One value per
 * step of a key: the same value again is a retry, another one is refused.
 */
export function metricRows(metrics: readonly MlflowMetric[]): IngestRow[] {
	const sorted = [...metrics].sort((a, b) => a.step - b.step);
	const rows = new Map<string, IngestRow>();
	const seen = new Map<string, MlflowMetric>();
	for (const metric of sorted) {
		const earlier = seen.get(`${metric.key}|${metric.step}`);
		if (earlier) {
			if (Object.is(earlier.value, metric.value) || earlier.value === metric.value) continue;
			throw invalid(
				`Metric '${metric.key}' is logged twice at step ${metric.step} with different values ` +
					`(${earlier.value}, ${metric.value}): Vapor keeps one value per step of a metric. Pass step= to log_metric(s).`
			);
		}
		seen.set(`${metric.key}|${metric.step}`, metric);
		const recordedAt = new Date(metric.timestamp);
		if (!Number.isFinite(recordedAt.getTime()) || recordedAt.getUTCFullYear() < 1 || recordedAt.getUTCFullYear() > 9999)
			throw invalid(`Metric '${metric.key}' has timestamp ${metric.timestamp}: milliseconds since 1970 are expected.`);
		const group = `${metric.step}|${metric.timestamp}`;
		const row = rows.get(group);
		if (row) row.values[metric.key] = metric.value;
		else
			rows.set(group, {
				step: toVaporStep(metric.step),
				epoch: undefined,
				recordedAt: recordedAt.toISOString(),
				values: { [metric.key]: metric.value },
				signals: []
			});
	}
	return [...rows.values()];
}
