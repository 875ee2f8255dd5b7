import { z } from 'zod';
import { checkConfig, type JsonObject } from './run-config';
import type { FieldErrors, Validated } from './job-input';

import { NOTE_MAX_LENGTH, TAG_MAX_LENGTH, TAGS_MAX } from './run-limits';

export { NOTE_MAX_LENGTH, TAG_MAX_LENGTH, TAGS_MAX };

const tag = z
	.string({ error: 'Each tag must be text.' })
	.trim()
	.min(1, 'A tag must not be blank.')
	.max(TAG_MAX_LENGTH, `A tag must be at most ${TAG_MAX_LENGTH} characters.`);

/** Tags in the order given, duplicates dropped. */
export const tagsSchema = z
	.array(tag, { error: 'Tags must be a list of text, such as ["baseline", "nlp"].' })
	.transform((tags) => [...new Set(tags)])
	.refine((tags) => tags.length <= TAGS_MAX, `A job has at most ${TAGS_MAX} tags.`);

export const noteSchema = z
	.string({ error: 'The note must be text.' })
	.max(NOTE_MAX_LENGTH, `The note must be at most ${NOTE_MAX_LENGTH.toLocaleString('en')} characters.`)
	// Line breaks are kept; Windows line ends count as one.
	.transform((note) => note.replace(/\r\n/g, '\n'));

export const configSchema = z.unknown().transform((value, ctx): JsonObject => {
	const checked = checkConfig(value);
	if (!checked.ok) {
		ctx.addIssue({ code: 'custom', message: checked.error });
		return z.NEVER;
	}
	return checked.value;
});

/** PATCH /api/training/jobs/{id}: what can change on a job after it was created. */
const patchSchema = z.strictObject(
	{
		tags: tagsSchema.optional(),
		addTags: z.array(tag, { error: 'addTags must be a list of text.' }).optional(),
		removeTags: z.array(tag, { error: 'removeTags must be a list of text.' }).optional(),
		note: noteSchema.optional(),
		archived: z.boolean({ error: 'archived must be true or false.' }).optional(),
		config: configSchema.optional()
	},
	{ error: 'The change must be a JSON object, such as {"tags": ["baseline"]}.' }
);

export type JobPatch = z.output<typeof patchSchema>;

/** Issues to the `{ error, fields }` shape every endpoint answers with. */
export function describeIssues(issues: z.core.$ZodIssue[]): { error: string; fields: FieldErrors } {
	const fields: FieldErrors = {};
	let formError: string | undefined;
	for (const issue of issues) {
		if (issue.code === 'unrecognized_keys') for (const key of issue.keys) fields[key] ??= `Unknown field "${key}".`;
		else if (issue.path.length > 0) fields[String(issue.path[0])] ??= issue.message;
		else formError ??= issue.message;
	}
	const messages = Object.values(fields);
	const error =
		formError ??
		(messages.length === 1 ? messages[0]! : `${messages.length} fields need attention: ${messages.join(' ')}`);
	return { error, fields };
}

export function validateJobPatch(input: unknown): Validated<JobPatch> {
	const parsed = patchSchema.safeParse(input);
	if (!parsed.success) return { ok: false, ...describeIssues(parsed.error.issues) };
	if (parsed.data.tags && (parsed.data.addTags || parsed.data.removeTags)) {
		const error = 'Send either tags (the whole list) or addTags/removeTags, not both.';
		return { ok: false, error, fields: { tags: error } };
	}
	if (Object.values(parsed.data).every((value) => value === undefined)) {
		const error = 'Nothing to change: send tags, addTags, removeTags, note, archived or config.';
		return { ok: false, error, fields: {} };
	}
	return { ok: true, value: parsed.data };
}

/** The tags after a patch: the new list, or the old one with additions and removals. */
export function patchedTags(current: string[], patch: JobPatch): string[] {
	if (patch.tags) return patch.tags;
	const removed = new Set(patch.removeTags ?? []);
	return [...new Set([...current, ...(patch.addTags ?? [])])].filter((tag) => !removed.has(tag));
}

/** Tags typed into one box, separated by commas. */
export function tagsFromText(text: string): string[] {
	return text
		.split(',')
		.map((tag) => tag.trim())
		.filter((tag) => tag !== '');
}
