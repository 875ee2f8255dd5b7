import { z } from 'zod';
import type { FieldErrors, Validated } from './job-input';
import { keyProblem } from './metrics';

/** What Postgres's timestamptz can hold and a real clock can say: years 1–9999, offsets up to ±14:00. */
function storableTime(value: string): boolean {
	const offset = /([+-])(\d{2}):?(\d{2})$/.exec(value);
	if (offset && Number(offset[2]) * 60 + Number(offset[3]) > 14 * 60) return false;
	const year = new Date(value).getUTCFullYear();
	return Number.isFinite(year) && year >= 1 && year <= 9999 && /^\d{4}/.test(value) && !value.startsWith('0000');
}

/**
 * What a training script sends to POST /api/training/jobs/{id}/metrics: a JSON array of
 *   { step, epoch?, loss, accuracy?, recordedAt?, nonFinite? }
 * JSON has no NaN or Infinity, so a diverged loss travels as the string "NaN",
 * "Infinity" or "-Infinity" together with "nonFinite": true. That point is stored as
 * the failure signal and fails the job; without the flag such a loss is refused.
 */
export const MAX_POINTS_PER_REQUEST = 10_000;
export const NON_FINITE_LOSSES = ['NaN', 'Infinity', '-Infinity'] as const;
export type NonFiniteLoss = (typeof NON_FINITE_LOSSES)[number];
/** Steps and epochs are Postgres integers. */
export const MAX_STEP = 2_147_483_647;
/** The longest error message a script may attach to a failed run. */
export const MAX_ERROR_LENGTH = 2_000;

function wholeNumber(label: string, required: boolean) {
	return z
		.number({
			error: (issue) => (issue.input === undefined && required ? `${label} is required.` : `${label} must be a number.`)
		})
		.int(`${label} must be a whole number.`)
		.min(1, `${label} must be at least 1.`)
		.max(MAX_STEP, `${label} must be at most ${MAX_STEP}.`);
}

const LOSS_MESSAGE =
	'loss must be a finite number. To report a diverged run, send loss as "NaN", "Infinity" or "-Infinity" together with "nonFinite": true.';

const pointSchema = z
	.strictObject(
		{
			step: wholeNumber('step', true),
			epoch: wholeNumber('epoch', false).optional(),
			loss: z.union([z.number(), z.enum(NON_FINITE_LOSSES)], {
				error: (issue) => (issue.input === undefined ? 'loss is required.' : LOSS_MESSAGE)
			}),
			accuracy: z
				.number({ error: 'accuracy must be a number from 0 to 1, or null.' })
				.min(0, 'accuracy must be a fraction from 0 to 1 (0.93, not 93).')
				.max(1, 'accuracy must be a fraction from 0 to 1 (0.93, not 93).')
				.nullable()
				.optional(),
			recordedAt: z.iso
				.datetime({
					offset: true,
					error: 'recordedAt must be an ISO 8601 time with a time zone, e.g. 2026-11-29T03:00:00.000Z.'
				})
				.refine(storableTime, {
					error: 'recordedAt must be a time from the year 1 to 9999 (UTC), with a time zone offset of at most ±14:00.'
				})
				.optional(),
			nonFinite: z.boolean({ error: 'nonFinite must be true or false.' }).optional()
		},
		{ error: 'Each point must be a JSON object such as { "step": 1, "loss": 0.69 }.' }
	)
	.superRefine((point, context) => {
		const textLoss = typeof point.loss === 'string';
		if (textLoss && point.nonFinite !== true) {
			context.addIssue({ code: 'custom', path: ['loss'], message: LOSS_MESSAGE });
		} else if (!textLoss && point.nonFinite === true) {
			context.addIssue({
				code: 'custom',
				path: ['nonFinite'],
				message: 'nonFinite: true marks a diverged run: loss must then be "NaN", "Infinity" or "-Infinity".'
			});
		}
	});

/** Field errors listed in an answer: enough to fix a script, not a 10,000-line reply. */
const MAX_FIELD_ERRORS = 20;

/** Values per request: a row of 20 keys counts 20. */
export const MAX_VALUES_PER_REQUEST = MAX_POINTS_PER_REQUEST;

/** One step's values of a request, as validated: ready to store. */
export interface IngestRow {
	step: number;
	/** undefined: the server derives it from the step and the job's steps per epoch. */
	epoch: number | undefined;
	/** ISO 8601 with a time zone, as sent; undefined: the time of the commit. */
	recordedAt: string | undefined;
	/** key → value; NaN and ±Infinity as such. */
	values: Record<string, number>;
	/** Keys whose non-finite value here was flagged (`nonFinite: true`): a failure signal. */
	signals: string[];
}

export type MetricsValidation =
	| { ok: true; value: IngestRow[]; valueCount: number }
	| { ok: false; error: string; fields: FieldErrors; tooLarge?: true };

function describe(count: number, noun: string) {
	return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

const valueSchema = z.union([z.number(), z.enum(NON_FINITE_LOSSES)], {
	error: 'value must be a number, or "NaN", "Infinity" or "-Infinity" (JSON has no NaN).'
});
const common = {
	step: wholeNumber('step', true),
	epoch: wholeNumber('epoch', false).optional(),
	recordedAt: z.iso
		.datetime({
			offset: true,
			error: 'recordedAt must be an ISO 8601 time with a time zone, e.g. 2026-11-29T03:00:00.000Z.'
		})
		.optional(),
	nonFinite: z.boolean({ error: 'nonFinite must be true or false.' }).optional()
};
const keyedSchema = z.strictObject({ ...common, key: z.string({ error: 'key must be text.' }), value: valueSchema });
const rowSchema = z.strictObject({
	...common,
	metrics: z.record(z.string(), valueSchema, { error: 'metrics must be an object of key: value.' })
});

const toNumber = (value: number | string) => (typeof value === 'string' ? Number(value) : value);

/**
 * What rowSchema makes of the most common item, `{ step, metrics }` with a whole step and
 * only finite numbers, checked without it (zod was most of the validation's time, which was
 * a third of an ingest request's); undefined for anything else, which the schemas decide.
 */
function plainRow(
	raw: unknown
): { success: true; data: { step: number; metrics: Record<string, number> } } | undefined {
	if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
	const item = raw as Record<string, unknown>;
	if (Object.keys(item).length !== 2 || !('step' in item) || !('metrics' in item)) return undefined;
	const { step, metrics } = item;
	if (typeof step !== 'number' || !Number.isInteger(step) || step < 1 || step > MAX_STEP) return undefined;
	if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) return undefined;
	if (Object.getPrototypeOf(metrics) !== Object.prototype) return undefined;
	const values = metrics as Record<string, unknown>;
	for (const key in values) {
		const value = values[key];
		if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
	}
	return { success: true, data: { step, metrics: { ...(values as Record<string, number>) } } };
}

/**
 * Validates the body of POST …/metrics: a JSON array of, in any mix,
 *   { step, key, value, epoch?, recordedAt?, nonFinite? }           one value
 *   { step, metrics: { key: value, … }, epoch?, recordedAt?, nonFinite? }   one step's values
 *   { step, loss, accuracy?, epoch?, recordedAt?, nonFinite? }      today's point (keys loss, accuracy)
 * A value may be "NaN", "Infinity" or "-Infinity": stored, and shown as a gap; flagged with
 * nonFinite: true it is a failure signal. Within a key, steps must increase. Every problem
 * names the item (by index and step) and the field.
 */
export function validateMetricsBody(input: unknown): MetricsValidation {
	if (!Array.isArray(input)) {
		const message =
			'Send the points as a JSON array: [{ "step": 1, "key": "train/loss", "value": 0.69 }, { "step": 1, "metrics": { "lr": 0.001 } }, …].';
		return { ok: false, error: message, fields: {} };
	}
	const fields: FieldErrors = {};
	const messages: string[] = [];
	const add = (key: string, message: string) => {
		if (key in fields || messages.includes(message)) return;
		messages.push(message);
		if (Object.keys(fields).length < MAX_FIELD_ERRORS) fields[key] = message;
	};
	const rows: IngestRow[] = [];
	const byStep = new Map<string, IngestRow>();
	const lastStepOf = new Map<string, number>();
	// A request repeats its keys in every row: each is checked once ('' = no problem).
	const problems = new Map<string, string>();
	let valueCount = 0;
	for (let index = 0; index < input.length; index++) {
		const raw = input[index] as Record<string, unknown> | null;
		const step = raw?.step;
		const where = `Point ${index + 1}${typeof step === 'number' ? ` (step ${step})` : ''}`;
		const isObject = raw !== null && typeof raw === 'object' && !Array.isArray(raw);
		const schema = !isObject ? pointSchema : 'key' in raw ? keyedSchema : 'metrics' in raw ? rowSchema : pointSchema;
		const parsed = plainRow(raw) ?? schema.safeParse(raw);
		if (!parsed.success) {
			for (const issue of parsed.error.issues) {
				if (issue.code === 'unrecognized_keys') {
					for (const key of issue.keys) add(`[${index}].${key}`, `${where}: unknown field "${key}".`);
				} else {
					const field = issue.path.length > 0 ? `.${String(issue.path[0])}` : '';
					add(`[${index}]${field}`, `${where}: ${issue.message}`);
				}
			}
			continue;
		}
		const item = parsed.data as Record<string, unknown> & { step: number; nonFinite?: boolean };
		let values: Record<string, number>;
		let signals: string[] = [];
		if ('key' in item) {
			values = { [item.key as string]: toNumber(item.value as number | string) };
		} else if ('metrics' in item) {
			values = {};
			for (const [key, value] of Object.entries(item.metrics as Record<string, number | string>))
				values[key] = toNumber(value);
			if (Object.keys(values).length === 0) add(`[${index}].metrics`, `${where}: metrics has no values.`);
		} else {
			values = { loss: toNumber(item.loss as number | string) };
			if (item.accuracy !== undefined && item.accuracy !== null) values.accuracy = item.accuracy as number;
		}
		if (item.nonFinite === true) {
			signals = Object.keys(values).filter((key) => !Number.isFinite(values[key]!));
			if (signals.length === 0)
				add(
					`[${index}].nonFinite`,
					`${where}: nonFinite: true marks a diverged run, but no value here is "NaN", "Infinity" or "-Infinity".`
				);
		}
		for (const key of Object.keys(values)) {
			let problem = problems.get(key);
			if (problem === undefined) problems.set(key, (problem = keyProblem(key) ?? ''));
			if (problem) {
				// The field the client sent: a point's key, or a row's metrics.
				add(`[${index}].${'metrics' in item ? 'metrics' : 'key'}`, `${where}: ${problem}`);
				continue;
			}
			const last = lastStepOf.get(key);
			if (last !== undefined && item.step <= last) {
				add(
					`[${index}].step`,
					`${where}: step ${item.step} of "${key}" does not come after its step ${last}. Within a key, steps must increase.`
				);
			}
			lastStepOf.set(key, item.step);
		}
		valueCount += Object.keys(values).length;
		if (valueCount > MAX_VALUES_PER_REQUEST) {
			return {
				ok: false,
				tooLarge: true,
				error:
					`At most ${describe(MAX_VALUES_PER_REQUEST, 'value')} per request (a row of 20 metrics counts 20); ` +
					'this one has more. Send them in batches.',
				fields: {}
			};
		}
		// Values of one step (same epoch and time) become one stored row.
		const group = `${item.step}|${item.epoch ?? ''}|${item.recordedAt ?? ''}`;
		const existing = byStep.get(group);
		if (existing && Object.keys(values).every((key) => !(key in existing.values))) {
			Object.assign(existing.values, values);
			existing.signals.push(...signals);
		} else {
			const row: IngestRow = {
				step: item.step,
				epoch: item.epoch as number | undefined,
				recordedAt: item.recordedAt as string | undefined,
				values,
				signals
			};
			rows.push(row);
			byStep.set(group, row);
		}
	}
	if (messages.length === 0) return { ok: true, value: rows, valueCount };
	const error =
		messages.length === 1
			? messages[0]!
			: `${describe(messages.length, 'problem')} in the points. ${messages[0]} (The others are listed in "fields".)`;
	return { ok: false, error, fields };
}

const finishSchema = z
	.strictObject(
		{
			status: z.enum(['completed', 'failed'], {
				error: 'status must be "completed" or "failed" (to stop a run, POST to …/stop).'
			}),
			error: z
				.string({ error: 'error must be text.' })
				.trim()
				.min(1, 'error must not be blank: say what went wrong, or leave it out.')
				.max(MAX_ERROR_LENGTH, `error must be at most ${MAX_ERROR_LENGTH} characters.`)
				.optional()
		},
		{ error: 'Send { "status": "completed" } or { "status": "failed", "error": "…" }.' }
	)
	.superRefine((body, context) => {
		if (body.status === 'completed' && body.error !== undefined) {
			context.addIssue({
				code: 'custom',
				path: ['error'],
				message: 'error is only for a failed run; a completed one has none.'
			});
		}
	});

export type FinishInput = z.output<typeof finishSchema>;

/** Validates the body of POST …/finish. */
export function validateFinish(input: unknown): Validated<FinishInput> {
	const parsed = finishSchema.safeParse(input);
	if (parsed.success) return { ok: true, value: parsed.data };
	const fields: FieldErrors = {};
	let formError: string | undefined;
	for (const issue of parsed.error.issues) {
		if (issue.code === 'unrecognized_keys') {
			for (const key of issue.keys) fields[key] ??= `Unknown field "${key}".`;
		} else if (issue.path.length > 0) fields[String(issue.path[0])] ??= issue.message;
		else formError ??= issue.message;
	}
	const messages = Object.values(fields);
	return { ok: false, error: formError ?? messages.join(' '), fields };
}

export { epochOfStep } from './curve';
