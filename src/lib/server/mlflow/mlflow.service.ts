/**
 * The MLflow drop-in: the tracking calls of the `mlflow` client (set_experiment,
 * start_run, log_param(s), log_metric(s), set_tag(s), end_run) on Vapor's own jobs. An
 * experiment is a row of mlflow_experiments; a run is an external job (run_id = job id);
 * params are config keys, tags are tags, metrics are points (MLflow's step + 1), and the
 * run's status is the job's. Every write goes through the owners Vapor's own API uses:
 * ingest (points), job-edits (config, tags, note, name) and transitions (status).
 */
import type { Db } from '../db';
import type { JobEvents } from '../events/job-events';
import { afterStore, lockJob, storeValuesLocked, type LockedJob } from '../ingest/ingest.service';
import { applyJobPatch, renameJobLocked, setPrimaryMetricLocked } from '../jobs/job-edits';
import { findJob } from '../jobs/jobs.repository';
import { createValidJob } from '../jobs/jobs.service';
import { toJob, type JobWithLatest } from '../jobs/jobs.table';
import { finishExternal, recordContact, resumeExternal, startJob, wasLostContact } from '../jobs/transitions';
import { log } from '../log';
import type { BlockRollups } from '../metrics/block-rollups';
import { findKey, hasValues, listKeyValues, listKeys } from '../metrics/metrics.repository';
import {
	findExperimentById,
	findExperimentByName,
	findRun,
	insertExperiment,
	insertRun,
	lastRecordedAt,
	setRunTags,
	type ExperimentRow,
	type MlflowRunRow
} from './mlflow.repository';
import { isTerminal, type Job } from '../../training/job';
import { JOB_LIMITS } from '../../training/job-input';
import { DEFAULT_PRIMARY_METRIC, keyProblem } from '../../training/metrics';
import {
	asBody,
	choosePrimaryMetric,
	ENDED_STATUS,
	experimentIdOf,
	experimentName,
	experimentTag,
	HISTORY_PAGE_MAX,
	jobNameOf,
	metricRows,
	mirroredTags,
	MlflowProblem,
	NOTE_TAG,
	parseCreateExperiment,
	parseCreateRun,
	parseHistoryRequest,
	parseLogBatch,
	parseMetric,
	parseParam,
	parseTag,
	parseUpdateRun,
	PRIMARY_METRIC_TAG,
	RUN_NAME_TAG,
	runIdOf,
	storedExperimentId,
	toMlflowStatus,
	toMlflowStep,
	toMlflowValue,
	type LogBatch,
	type MlflowEntry
} from '../../training/mlflow';
import { flattenConfig, formatConfigValue, type JsonObject } from '../../training/run-config';
import { NOTE_MAX_LENGTH } from '../../training/run-fields';
import { isUuid } from '../../uuid';

const invalid = (message: string) => new MlflowProblem('INVALID_PARAMETER_VALUE', message);
const noRun = (id: string) =>
	new MlflowProblem('RESOURCE_DOES_NOT_EXIST', `Run '${id.slice(0, 80)}' not found: no Vapor job has this id.`);
const noExperiment = (id: string) =>
	new MlflowProblem('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id.slice(0, 80)} exists.`);

const ms = (date: Date | string) => new Date(date).getTime();
const entries = (map: Record<string, string>) => Object.entries(map).map(([key, value]) => ({ key, value }));

function experimentJson(row: ExperimentRow) {
	return {
		experiment_id: String(row.id),
		name: row.name,
		// Vapor stores no artifacts: a client that logs one reaches …/mlflow-artifacts/…, which says so.
		artifact_location: row.artifact_location || `mlflow-artifacts:/${row.id}`,
		lifecycle_stage: 'active',
		last_update_time: ms(row.updated_at),
		creation_time: ms(row.created_at),
		tags: entries(row.tags)
	};
}

// ---------------------------------------------------------------------------- experiments

export async function getExperimentByName(db: Db, query: unknown) {
	const name = experimentName(asBody(query), 'experiment_name');
	const row = await findExperimentByName(db, name);
	if (!row) throw new MlflowProblem('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'.`);
	return { experiment: experimentJson(row) };
}

export async function getExperiment(db: Db, query: unknown) {
	const id = experimentIdOf(asBody(query));
	const stored = storedExperimentId(id);
	const row = stored === undefined ? undefined : await findExperimentById(db, stored);
	if (!row) throw noExperiment(id);
	return { experiment: experimentJson(row) };
}

export async function createExperiment(db: Db, body: unknown) {
	const experiment = parseCreateExperiment(body);
	const tags = Object.fromEntries(experiment.tags.map((tag) => [tag.key, tag.value]));
	const row = await insertExperiment(db, { ...experiment, tags });
	if (!row) throw new MlflowProblem('RESOURCE_ALREADY_EXISTS', `Experiment '${experiment.name}' already exists.`);
	log.info('MLflow experiment created', { experimentId: row.id, name: row.name });
	return { experiment_id: String(row.id) };
}

// ---------------------------------------------------------------------------- runs

/** The job behind a run id; a run id that is no job id names no run. */
function jobIdOf(runId: string): string {
	if (!isUuid(runId)) throw noRun(runId);
	return runId.toLowerCase();
}

async function runJson(db: Db, job: Job, run: MlflowRunRow | undefined) {
	const [keys, times] = await Promise.all([listKeys(db, job.id), lastRecordedAt(db, job.id)]);
	const tags: Record<string, string> = { ...(run?.tags ?? {}) };
	tags[RUN_NAME_TAG] = job.name;
	if (job.note) tags[NOTE_TAG] = job.note;
	return {
		info: runInfoJson(job, run),
		data: {
			metrics: keys
				.filter((key) => key.lastStep !== null)
				.map((key) => ({
					key: key.key,
					value: key.lastNonFinite ?? key.lastValue ?? 'NaN',
					timestamp: ms(times.get(key.key) ?? job.createdAt),
					step: toMlflowStep(key.lastStep!)
				})),
			params: flattenConfig(job.config ?? {}).map((entry) => ({
				key: entry.key,
				value: formatConfigValue(entry.value)
			})),
			tags: entries(tags)
		},
		inputs: {}
	};
}

function runInfoJson(job: Job, run: MlflowRunRow | undefined) {
	const experimentId = String(run?.experiment_id ?? 0);
	return {
		run_id: job.id,
		run_uuid: job.id,
		run_name: job.name,
		experiment_id: experimentId,
		user_id: run?.user_id ?? '',
		status: toMlflowStatus(job.status),
		start_time: ms(job.startedAt ?? job.createdAt),
		...(job.finishedAt ? { end_time: ms(job.finishedAt) } : {}),
		artifact_uri: `mlflow-artifacts:/${experimentId}/${job.id}/artifacts`,
		lifecycle_stage: 'active'
	};
}

async function readRun(db: Db, runId: string): Promise<{ job: Job; run: MlflowRunRow | undefined }> {
	const id = jobIdOf(runId);
	const row = await findJob(db, id);
	if (!row) throw noRun(runId);
	return { job: toJob(row), run: await findRun(db, id) };
}

export async function getRun(db: Db, query: unknown) {
	const { job, run } = await readRun(db, runIdOf(asBody(query)));
	return { run: await runJson(db, job, run) };
}

/**
 * runs/create (start_run): an external job, running at once as an MLflow run is. The run
 * name (or the `mlflow.runName` tag) is the job's name; the user tags its tags.
 */
export async function createRun(db: Db, events: JobEvents, body: unknown) {
	const request = parseCreateRun(body);
	const stored = storedExperimentId(request.experimentId);
	const experiment = stored === undefined ? undefined : await findExperimentById(db, stored);
	if (!experiment) throw noExperiment(request.experimentId);

	const tags = Object.fromEntries(request.tags.map((tag) => [tag.key, tag.value]));
	const runName =
		request.runName ??
		tags[RUN_NAME_TAG] ??
		`${experiment.name} run ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`;
	const note = tags[NOTE_TAG] ?? '';
	if (note.length > NOTE_MAX_LENGTH) throw invalid(`The run's note is at most ${NOTE_MAX_LENGTH} characters in Vapor.`);
	const primaryMetric = tags[PRIMARY_METRIC_TAG];
	const keyIssue = primaryMetric === undefined ? undefined : keyProblem(primaryMetric);
	if (keyIssue) throw invalid(`Tag ${PRIMARY_METRIC_TAG}: ${keyIssue}`);
	const experimentTags = [experimentTag(experiment.name)].filter((tag) => tag !== undefined);

	const job = await createValidJob(db, events, {
		source: 'external',
		name: jobNameOf(runName),
		baseModel: JOB_LIMITS.label.default,
		dataset: JOB_LIMITS.label.default,
		epochs: JOB_LIMITS.epochs.default,
		stepsPerEpoch: JOB_LIMITS.stepsPerEpoch.default,
		learningRate: JOB_LIMITS.learningRate.default,
		batchSize: JOB_LIMITS.batchSize.default,
		config: {},
		tags: mirroredTags(experimentTags, request.tags),
		note,
		primaryMetric
	});
	await insertRun(db, {
		jobId: job.id,
		experimentId: experiment.id,
		userId: request.userId,
		tags: { ...tags, [RUN_NAME_TAG]: runName }
	});
	const running = await startJob(db, events, job.id);
	log.info('MLflow run created', { jobId: job.id, experimentId: experiment.id });
	return { run: await runJson(db, running, await findRun(db, job.id)) };
}

/**
 * runs/update: end_run (FINISHED, FAILED, KILLED → completed, failed, stopped) and a run
 * resumed by id (RUNNING). A run Vapor already ended another way (stopped on the page)
 * keeps Vapor's status: the script's end is no error.
 */
export async function updateRun(db: Db, events: JobEvents, body: unknown) {
	const update = parseUpdateRun(body);
	const id = jobIdOf(update.runId);
	await recordContact(db, events, id);
	const changed = await db.transaction().execute(async (trx) => {
		const job = await lockedExternal(trx, id, update.runId);
		if (update.runName) {
			await renameJobLocked(trx, id, jobNameOf(update.runName));
			await setRunTags(trx, id, { [RUN_NAME_TAG]: update.runName });
		}
		const status = update.status;
		if (status === 'RUNNING') return (await resumeExternal(trx, job)) || !!update.runName;
		if (status === 'FINISHED' || status === 'FAILED' || status === 'KILLED') {
			const wanted = ENDED_STATUS[status];
			if (isTerminal(job.status) && job.status !== wanted && !wasLostContact(job)) {
				log.info('MLflow run ended by its script after Vapor ended it; Vapor keeps its status', {
					jobId: id,
					status: job.status,
					asked: status
				});
				return !!update.runName;
			}
			const error = wanted === 'failed' ? 'The MLflow script ended the run as FAILED.' : null;
			return (await finishExternal(trx, job, wanted, error)) || !!update.runName;
		}
		return !!update.runName;
	});
	const job = await announceIf(db, events, id, changed);
	return { run_info: runInfoJson(job, await findRun(db, id)) };
}

async function lockedExternal(trx: Db, id: string, runId: string): Promise<LockedJob> {
	const job = await lockJob(trx, id);
	if (!job) throw noRun(runId);
	if (job.source !== 'external')
		throw invalid(`"${job.name}" is a simulated Vapor job: the simulator writes it, an MLflow script cannot.`);
	return job;
}

async function announceIf(db: Db, events: JobEvents, id: string, changed: boolean): Promise<Job> {
	const row = await findJob(db, id);
	if (!row) throw noRun(id);
	const job = toJob(row);
	if (changed) await events.statusChanged(db, job);
	return job;
}

// ---------------------------------------------------------------------------- logging

export const logMetric = (db: Db, events: JobEvents, rollups: BlockRollups | undefined, body: unknown) =>
	writeBatch(db, events, rollups, { runId: runIdOf(asBody(body)), metrics: [parseMetric(body)], params: [], tags: [] });

export const logParam = (db: Db, events: JobEvents, body: unknown) =>
	writeBatch(db, events, undefined, {
		runId: runIdOf(asBody(body)),
		metrics: [],
		params: [parseParam(body)],
		tags: []
	});

export const setTag = (db: Db, events: JobEvents, body: unknown) =>
	writeBatch(db, events, undefined, { runId: runIdOf(asBody(body)), metrics: [], params: [], tags: [parseTag(body)] });

export const logBatch = (db: Db, events: JobEvents, rollups: BlockRollups | undefined, body: unknown) =>
	writeBatch(db, events, rollups, parseLogBatch(body));

/** Params as config keys (their text, as MLflow keeps them); a changed value is refused as MLflow refuses it. */
function paramChanges(config: JsonObject, params: readonly MlflowEntry[], runId: string): JsonObject | undefined {
	const additions: JsonObject = {};
	for (const { key, value } of params) {
		const current = config[key];
		if (current === undefined) additions[key] = value;
		else if (formatConfigValue(current) !== value)
			throw invalid(
				`Changing param values is not allowed. Param with key='${key}' was already logged ` +
					`with value='${formatConfigValue(current).slice(0, 200)}' for run ID='${runId}'. ` +
					`Attempted logging new value '${value.slice(0, 200)}'.`
			);
	}
	return Object.keys(additions).length > 0 ? additions : undefined;
}

/**
 * One log-batch (and log-metric, log-parameter, set-tag, each a batch of one): params,
 * tags and metrics in one transaction, so a refused batch writes nothing.
 */
async function writeBatch(db: Db, events: JobEvents, rollups: BlockRollups | undefined, batch: LogBatch) {
	const id = jobIdOf(batch.runId);
	const rows = metricRows(batch.metrics);
	// Any call is contact: a job failed for a silent script is running again.
	await recordContact(db, events, id);
	let stored: { job: LockedJob; outcome: Awaited<ReturnType<typeof storeValuesLocked>> } | undefined;
	let edited = false;
	// A refusal (a changed param, a value at a stored step, a finished run) throws and rolls all of it back.
	await db.transaction().execute(async (trx) => {
		let job = await lockedExternal(trx, id, batch.runId);
		edited = await applyParamsAndTags(trx, job, batch);
		if (rows.length === 0) return;
		const primary = await firstPrimaryMetric(trx, job, batch);
		if (primary) {
			await setPrimaryMetricLocked(trx, id, primary);
			job = { ...job, primaryMetric: primary };
			edited = true;
		}
		stored = { job, outcome: await storeValuesLocked(trx, events, job, rows, toMlflowStep) };
	});
	if (stored) await afterStore(db, events, rollups, stored.job, stored.outcome.outcome, stored.outcome.lastStep);
	// As PATCH does: every open list and monitor shows the new config and tags.
	if (edited) await announceIf(db, events, id, true);
	return {};
}

/**
 * An MLflow run's headline key, from its first metrics, unless it was named at start
 * (vapor.primaryMetric) or the run has values already.
 */
async function firstPrimaryMetric(trx: Db, job: LockedJob, batch: LogBatch): Promise<string | undefined> {
	const keys = [...new Set(batch.metrics.map((metric) => metric.key))];
	const chosen = choosePrimaryMetric(keys, job.primaryMetric);
	if (!chosen || job.primaryMetric !== DEFAULT_PRIMARY_METRIC) return undefined;
	const run = await findRun(trx, job.id);
	if (!run || run.tags[PRIMARY_METRIC_TAG] !== undefined) return undefined;
	return (await hasValues(trx, job.id)) ? undefined : chosen;
}

/** Params into the config, tags into the tags (and the run name and note), on the locked job. */
async function applyParamsAndTags(trx: Db, job: LockedJob, batch: LogBatch): Promise<boolean> {
	if (batch.params.length === 0 && batch.tags.length === 0) return false;
	const current = (await findJob(trx, job.id)) as JobWithLatest;
	const config = paramChanges(current.config ?? {}, batch.params, batch.runId);
	const tagMap = Object.fromEntries(batch.tags.map((tag) => [tag.key, tag.value]));
	const tags = batch.tags.length > 0 ? mirroredTags(current.tags, batch.tags) : undefined;
	const note = tagMap[NOTE_TAG];
	if (note !== undefined && note.length > NOTE_MAX_LENGTH)
		throw invalid(`The run's note is at most ${NOTE_MAX_LENGTH} characters in Vapor.`);
	const tagsChanged = tags !== undefined && tags.join('\u0000') !== current.tags.join('\u0000');
	if (config || tagsChanged || (note !== undefined && note !== current.note))
		await applyJobPatch(trx, job.id, {
			...(config ? { config } : {}),
			...(tagsChanged ? { tags } : {}),
			...(note !== undefined ? { note } : {})
		});
	const runName = tagMap[RUN_NAME_TAG];
	if (runName !== undefined && jobNameOf(runName) !== current.name)
		await renameJobLocked(trx, job.id, jobNameOf(runName));
	if (batch.tags.length > 0) await setRunTags(trx, job.id, tagMap);
	return true;
}

// ---------------------------------------------------------------------------- history

/** metrics/get-history: a key's values in step order, MLflow's steps and millisecond timestamps. */
export async function metricHistory(db: Db, params: URLSearchParams) {
	const request = parseHistoryRequest(params);
	const id = jobIdOf(request.runId);
	if (!(await findJob(db, id))) throw noRun(request.runId);
	const key = await findKey(db, id, request.key);
	if (!key) return { metrics: [] };
	const values = [];
	let after = request.afterStep;
	const wanted = Math.min(request.maxResults, HISTORY_PAGE_MAX) + 1;
	while (values.length < wanted) {
		const page = await listKeyValues(db, id, key, {
			afterStep: after,
			limit: Math.min(10_000, wanted - values.length)
		});
		if (page.length === 0) break;
		values.push(...page);
		after = page.at(-1)!.step;
	}
	const more = values.length > request.maxResults;
	const shown = values.slice(0, request.maxResults);
	return {
		metrics: shown.map((value) => ({
			key: value.key,
			value: value.nonFinite ?? toMlflowValue(value.value ?? Number.NaN),
			timestamp: ms(value.recordedAt),
			step: toMlflowStep(value.step)
		})),
		...(more ? { next_page_token: String(shown.at(-1)!.step) } : {})
	};
}
