import { DEFAULT_PRIMARY_METRIC, KEY_PATTERN } from './metrics';
import { z } from 'zod';
import { BASE_MODEL_IDS, DATASET_IDS } from './catalogue';
import { unsafeTextProblem } from './text-safety';
import { JOB_SOURCES, STEPS_PER_EPOCH, type JobSource } from './job';
import { checkConfig, mergeConfig, type JsonObject } from './run-config';
import { configSchema, noteSchema, tagsSchema } from './run-fields';

/** Limits of a new job, shared by the form, the API and the database CHECKs. */
export const JOB_LIMITS = {
	name: { min: 1, max: 100 },
	epochs: { min: 1, max: 1000, default: 3 },
	learningRate: { max: 1, default: 3e-4 },
	batchSize: { min: 1, max: 4096, default: 32 },
	/** Only external jobs choose it; simulated ones have STEPS_PER_EPOCH. */
	stepsPerEpoch: { min: 1, max: 1_000_000, default: STEPS_PER_EPOCH },
	/** External jobs name their own model and dataset (free text). */
	label: { max: 100, default: 'custom' }
} as const;

function numberField(label: string) {
	return z.number({
		error: (issue) => (issue.input === undefined ? `${label} is required.` : `${label} must be a number.`)
	});
}

function wholeNumberBetween(label: string, min: number, max: number) {
	const range = `${label} must be between ${min} and ${max}.`;
	return numberField(label).int(`${label} must be a whole number.`).min(min, range).max(max, range);
}

const commonFields = {
	name: z
		.string({ error: 'Name must be text.' })
		.trim()
		.min(JOB_LIMITS.name.min, 'Give the job a name.')
		.max(JOB_LIMITS.name.max, `Name must be at most ${JOB_LIMITS.name.max} characters.`)
		.superRefine(safeText('Name')),
	epochs: wholeNumberBetween('Epochs', JOB_LIMITS.epochs.min, JOB_LIMITS.epochs.max).default(JOB_LIMITS.epochs.default),
	learningRate: numberField('Learning rate')
		.gt(0, 'Learning rate must be greater than 0.')
		.max(JOB_LIMITS.learningRate.max, 'Learning rate must be at most 1.')
		.default(JOB_LIMITS.learningRate.default),
	batchSize: wholeNumberBetween('Batch size', JOB_LIMITS.batchSize.min, JOB_LIMITS.batchSize.max).default(
		JOB_LIMITS.batchSize.default
	),
	config: configSchema.optional(),
	tags: tagsSchema.default([]),
	note: noteSchema.default('')
};

/** The hyperparameters that are also columns; they become part of the job's config. */
const HYPERPARAMETERS = ['baseModel', 'dataset', 'epochs', 'learningRate', 'batchSize'] as const;

const NOT_AN_OBJECT = 'The job must be a JSON object.';

/** A job the simulator trains: model and dataset come from the catalogue. */
const simulatedJobSchema = z.strictObject(
	{
		...commonFields,
		source: z.literal('simulated').default('simulated'),
		baseModel: z.enum(BASE_MODEL_IDS, {
			error: `Choose a base model from the catalogue: ${BASE_MODEL_IDS.join(', ')}.`
		}),
		dataset: z.enum(DATASET_IDS, {
			error: `Choose a dataset from the catalogue: ${DATASET_IDS.join(', ')}.`
		}),
		stepsPerEpoch: z
			.literal(STEPS_PER_EPOCH, `A simulated job has ${STEPS_PER_EPOCH} steps per epoch; leave stepsPerEpoch out.`)
			.default(STEPS_PER_EPOCH)
	},
	{ error: NOT_AN_OBJECT }
);

/** NUL (which Postgres cannot store), controls and bidi overrides are refused, naming the field. */
function safeText(label: string) {
	return (value: string, context: z.RefinementCtx) => {
		const problem = unsafeTextProblem(label, value);
		if (problem) context.addIssue({ code: 'custom', message: problem });
	};
}

function label(name: string) {
	return z
		.string({ error: `${name} must be text.` })
		.trim()
		.min(1, `${name} must not be blank (leave it out for "${JOB_LIMITS.label.default}").`)
		.max(JOB_LIMITS.label.max, `${name} must be at most ${JOB_LIMITS.label.max} characters.`)
		.superRefine(safeText(name))
		.default(JOB_LIMITS.label.default);
}

/** A job a training script reports into: it names its own model and dataset and its epoch length. */
const externalJobSchema = z.strictObject(
	{
		...commonFields,
		source: z.literal('external'),
		baseModel: label('Base model'),
		dataset: label('Dataset'),
		stepsPerEpoch: wholeNumberBetween(
			'Steps per epoch',
			JOB_LIMITS.stepsPerEpoch.min,
			JOB_LIMITS.stepsPerEpoch.max
		).default(JOB_LIMITS.stepsPerEpoch.default),
		primaryMetric: z
			.string({ error: 'primaryMetric must be a metric key, such as "train/loss".' })
			.regex(KEY_PATTERN, 'primaryMetric must be 1 to 250 letters, digits, "_", "-", ".", "/", ":" or spaces.')
			.default(DEFAULT_PRIMARY_METRIC)
	},
	{ error: NOT_AN_OBJECT }
);

export interface NewJob {
	/** The key shown as the headline; simulated jobs have train/loss. */
	primaryMetric?: string;
	source: JobSource;
	name: string;
	baseModel: string;
	dataset: string;
	epochs: number;
	stepsPerEpoch: number;
	learningRate: number;
	batchSize: number;
	/** The given config with the hyperparameters added (all five for a simulated job, those given for an external one). */
	config?: JsonObject;
	tags?: string[];
	note?: string;
}

/** The config a job records for its hyperparameters alone. */
export function hyperparameterConfig(job: NewJob): JsonObject {
	return Object.fromEntries(HYPERPARAMETERS.map((key) => [key, job[key]]));
}
export type FieldErrors = Partial<Record<string, string>>;

export type Validated<T> = { ok: true; value: T } | { ok: false; error: string; fields: FieldErrors };

/** Validates a new job; every bad field gets a message a person understands. */
export function validateNewJob(input: unknown): Validated<NewJob> {
	const source = (input as { source?: unknown } | null)?.source;
	if (
		input &&
		typeof input === 'object' &&
		!Array.isArray(input) &&
		source !== undefined &&
		!JOB_SOURCES.includes(source as JobSource)
	) {
		const message =
			'Source must be "simulated" (the built-in simulator trains it) or "external" (your training script reports its points).';
		return { ok: false, error: message, fields: { source: message } };
	}
	const schema = source === 'external' ? externalJobSchema : simulatedJobSchema;
	const parsed = schema.safeParse(input);
	if (parsed.success) {
		const { config: given, ...job } = parsed.data;
		// An external job's script may not have said these; its config records only what it did say.
		const said = HYPERPARAMETERS.filter(
			(key) => job.source === 'simulated' || (input as JsonObject)[key] !== undefined
		);
		const merged = mergeConfig(given ?? {}, Object.fromEntries(said.map((key) => [key, job[key]])));
		if (!merged.ok) {
			const message = `config.${merged.key} differs from ${merged.key}: give the value once.`;
			return { ok: false, error: message, fields: { config: message } };
		}
		const checked = checkConfig(merged.value);
		if (!checked.ok) return { ok: false, error: checked.error, fields: { config: checked.error } };
		return { ok: true, value: { ...job, config: checked.value } };
	}

	const fields: FieldErrors = {};
	let formError: string | undefined;
	for (const issue of parsed.error.issues) {
		if (issue.code === 'unrecognized_keys') {
			for (const key of issue.keys) fields[key] ??= `Unknown field "${key}".`;
		} else if (issue.path.length > 0) {
			fields[String(issue.path[0])] ??= issue.message;
		} else {
			formError ??= issue.message;
		}
	}
	const messages = Object.values(fields);
	const error =
		formError ??
		(messages.length === 1 ? messages[0]! : `${messages.length} fields need attention: ${messages.join(' ')}`);
	return { ok: false, error, fields };
}

const NUMERIC_FIELDS = ['epochs', 'learningRate', 'batchSize', 'stepsPerEpoch'] as const;

/**
 * Turns an HTML form into the same input the JSON API takes: numeric fields become
 * numbers when they read as numbers and stay text otherwise, so the validator
 * answers "must be a number" rather than silently using a default.
 */
export function newJobInputFromForm(form: FormData): Record<string, unknown> {
	const input: Record<string, unknown> = {};
	const source = form.get('source') ?? 'simulated';
	input.source = source;
	// Only an external job chooses its epoch length; the simulated one would refuse the field.
	const numeric = NUMERIC_FIELDS.filter((key) => key !== 'stepsPerEpoch' || source === 'external');
	for (const key of ['name', 'baseModel', 'dataset', ...numeric]) {
		const value = form.get(key);
		input[key] = typeof value === 'string' ? value : undefined;
	}
	// A blank model or dataset of an external job means "not said" (the default), not an error.
	if (source === 'external')
		for (const key of ['baseModel', 'dataset']) if (String(input[key] ?? '').trim() === '') delete input[key];
	for (const key of numeric) {
		const text = String(input[key] ?? '').trim();
		const number = text === '' ? Number.NaN : Number(text);
		input[key] = Number.isFinite(number) ? number : text;
	}
	return input;
}
