import { describe, expect, it } from 'vitest';
import { patchedTags, tagsFromText, validateJobPatch } from './run-fields';

describe('job patch', () => {
	it('accepts tags, a note with line breaks, archived and config', () => {
		expect(
			validateJobPatch({ tags: [' a ', 'b', 'a'], note: 'line 1\r\nline 2', archived: true, config: { x: 1 } })
		).toEqual({
			ok: true,
			value: { tags: ['a', 'b'], note: 'line 1\nline 2', archived: true, config: { x: 1 } }
		});
	});

	it('names each bad field', () => {
		const result = validateJobPatch({ tags: ['x'.repeat(65)], note: 'n'.repeat(10_001), archived: 'yes', colour: 1 });
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(Object.keys(result.fields).sort()).toEqual(['archived', 'colour', 'note', 'tags']);
		expect(result.fields.tags).toMatch(/at most 64/);
		expect(result.fields.note).toMatch(/10,000/);
	});

	it('refuses more than 50 tags, an empty change, and a whole list with additions', () => {
		const many = Array.from({ length: 51 }, (_, i) => `t${i}`);
		expect(validateJobPatch({ tags: many })).toMatchObject({
			ok: false,
			fields: { tags: expect.stringMatching(/50/) }
		});
		expect(validateJobPatch({})).toMatchObject({ ok: false, error: expect.stringMatching(/Nothing to change/) });
		expect(validateJobPatch({ tags: ['a'], addTags: ['b'] }).ok).toBe(false);
		expect(validateJobPatch({ config: [1] })).toMatchObject({ ok: false, fields: { config: expect.any(String) } });
		expect(validateJobPatch([])).toMatchObject({ ok: false });
	});

	it('adds and removes tags without duplicates', () => {
		expect(patchedTags(['a', 'b'], { addTags: ['b', 'c'], removeTags: ['a'] })).toEqual(['b', 'c']);
		expect(patchedTags(['a'], { tags: ['z'] })).toEqual(['z']);
		expect(tagsFromText(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
	});
});
