import { z } from 'zod';
import type { FieldErrors, Validated } from './job-input';

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

/** One point as validated: ready to store. */
export interface IngestPoint {
	step: number;
	/** undefined: the server derives it from the step and the job's steps per epoch. */
	epoch: number | undefined;
	loss: number;
	accuracy: number | null;
	/** ISO 8601 with a time zone, as sent; undefined: the time of the commit. */
	recordedAt: string | undefined;
	/** True for the failure-signal point (loss NaN or ±Infinity). */
	nonFinite: boolean;
}

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

export type PointsValidation =
	Validated<IngestPoint[]> | { ok: false; tooLarge: true; error: string; fields: FieldErrors };

function describe(count: number, noun: string) {
	return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

/** Validates a request's points; every problem names the point (by index and step) and the field. */
export function validatePoints(input: unknown): PointsValidation {
	if (!Array.isArray(input)) {
		const message = 'Send the points as a JSON array: [{ "step": 1, "loss": 0.69, "accuracy": 0.5 }, …].';
		return { ok: false, error: message, fields: {} };
	}
	if (input.length > MAX_POINTS_PER_REQUEST) {
		return {
			ok: false,
			tooLarge: true,
			error: `At most ${describe(MAX_POINTS_PER_REQUEST, 'point')} per request; this one has ${input.length.toLocaleString('en-US')}. Send them in batches.`,
			fields: {}
		};
	}

	const fields: FieldErrors = {};
	const messages: string[] = [];
	const add = (key: string, message: string) => {
		if (key in fields) return;
		messages.push(message);
		if (Object.keys(fields).length < MAX_FIELD_ERRORS) fields[key] = message;
	};
	const points: IngestPoint[] = [];
	for (let index = 0; index < input.length; index++) {
		const raw = input[index];
		const parsed = pointSchema.safeParse(raw);
		const step = (raw as { step?: unknown } | null)?.step;
		const where = `Point ${index + 1}${typeof step === 'number' ? ` (step ${step})` : ''}`;
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
		const point = parsed.data;
		points.push({
			step: point.step,
			epoch: point.epoch,
			loss: typeof point.loss === 'string' ? Number(point.loss) : point.loss,
			accuracy: point.accuracy ?? null,
			recordedAt: point.recordedAt,
			nonFinite: point.nonFinite === true
		});
	}

	if (messages.length === 0) {
		for (let index = 1; index < points.length; index++) {
			const previous = points[index - 1]!;
			const point = points[index]!;
			if (point.step <= previous.step) {
				add(
					`[${index}].step`,
					`Point ${index + 1}: step ${point.step} does not come after step ${previous.step}. Steps must increase within a request.`
				);
			}
			if (previous.nonFinite) {
				add(
					`[${index - 1}].nonFinite`,
					`Point ${index} (step ${previous.step}) reports a non-finite loss, which ends the run: it must be the last point of the request.`
				);
			}
		}
	}

	if (messages.length === 0) return { ok: true, value: points };
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

/** The epoch of a step when the script does not say: steps 1..stepsPerEpoch are epoch 1. */
export function epochOfStep(step: number, stepsPerEpoch: number): number {
	return Math.ceil(step / stepsPerEpoch);
}
