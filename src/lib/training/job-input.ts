import { z } from 'zod';
import { BASE_MODEL_IDS, DATASET_IDS } from './catalogue';

/** Limits of a new job, shared by the form, the API and the database CHECKs. */
export const JOB_LIMITS = {
	name: { min: 1, max: 100 },
	epochs: { min: 1, max: 1000, default: 3 },
	learningRate: { max: 1, default: 3e-4 },
	batchSize: { min: 1, max: 4096, default: 32 }
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

const newJobSchema = z.strictObject(
	{
		name: z
			.string({ error: 'Name must be text.' })
			.trim()
			.min(JOB_LIMITS.name.min, 'Give the job a name.')
			.max(JOB_LIMITS.name.max, `Name must be at most ${JOB_LIMITS.name.max} characters.`),
		baseModel: z.enum(BASE_MODEL_IDS, {
			error: `Choose a base model from the catalogue: ${BASE_MODEL_IDS.join(', ')}.`
		}),
		dataset: z.enum(DATASET_IDS, {
			error: `Choose a dataset from the catalogue: ${DATASET_IDS.join(', ')}.`
		}),
		epochs: wholeNumberBetween('Epochs', JOB_LIMITS.epochs.min, JOB_LIMITS.epochs.max).default(
			JOB_LIMITS.epochs.default
		),
		learningRate: numberField('Learning rate')
			.gt(0, 'Learning rate must be greater than 0.')
			.max(JOB_LIMITS.learningRate.max, 'Learning rate must be at most 1.')
			.default(JOB_LIMITS.learningRate.default),
		batchSize: wholeNumberBetween('Batch size', JOB_LIMITS.batchSize.min, JOB_LIMITS.batchSize.max).default(
			JOB_LIMITS.batchSize.default
		)
	},
	{ error: 'The job must be a JSON object.' }
);

export type NewJob = z.output<typeof newJobSchema>;
export type FieldErrors = Partial<Record<string, string>>;

export type Validated<T> = { ok: true; value: T } | { ok: false; error: string; fields: FieldErrors };

/** Validates a new job; every bad field gets a message a person understands. */
export function validateNewJob(input: unknown): Validated<NewJob> {
	const parsed = newJobSchema.safeParse(input);
	if (parsed.success) return { ok: true, value: parsed.data };

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
		formError ?? (messages.length === 1 ? messages[0]! : `${messages.length} fields need attention: ${messages.join(' ')}`);
	return { ok: false, error, fields };
}

const NUMERIC_FIELDS = ['epochs', 'learningRate', 'batchSize'] as const;

/**
 * Turns an HTML form into the same input the JSON API takes: numeric fields become
 * numbers when they read as numbers and stay text otherwise, so the validator
 * answers "must be a number" rather than silently using a default.
 */
export function newJobInputFromForm(form: FormData): Record<string, unknown> {
	const input: Record<string, unknown> = {};
	for (const key of ['name', 'baseModel', 'dataset', ...NUMERIC_FIELDS]) {
		const value = form.get(key);
		input[key] = typeof value === 'string' ? value : undefined;
	}
	for (const key of NUMERIC_FIELDS) {
		const text = String(input[key] ?? '').trim();
		const number = text === '' ? Number.NaN : Number(text);
		input[key] = Number.isFinite(number) ? number : text;
	}
	return input;
}
