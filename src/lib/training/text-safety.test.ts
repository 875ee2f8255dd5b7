import { describe, expect, it } from 'vitest';
import { unsafeTextProblem } from './text-safety';

describe('unsafeTextProblem', () => {
	it('accepts ordinary text in any script', () => {
		expect(unsafeTextProblem('Name', 'bert – fine-tune 🚀 שלום')).toBeUndefined();
	});
	it('names the field for NUL, controls and bidi overrides', () => {
		expect(unsafeTextProblem('Name', 'a\u0000b')).toBe('Name must not contain a NUL character (\\u0000).');
		expect(unsafeTextProblem('Dataset', 'a\u0007b')).toMatch(/^Dataset must not contain control/);
		for (const c of ['\u202a', '\u202e', '\u2066', '\u2069'])
			expect(unsafeTextProblem('Name', `run${c}gpj.exe`)).toMatch(/bidirectional/);
	});
});
