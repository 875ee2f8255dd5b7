/**
 * Characters a name must not hold: NUL (Postgres text cannot store it) and other C0/C1
 * controls, and the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069), which would let a name reorder what is shown after it.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;

/** What is wrong with a name's characters, naming it; undefined when they are fine. */
export function unsafeTextProblem(label: string, value: string): string | undefined {
	if (value.includes('\u0000')) return `${label} must not contain a NUL character (\\u0000).`;
	if (CONTROL.test(value)) return `${label} must not contain control characters.`;
	if (BIDI.test(value))
		return `${label} must not contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069).`;
	return undefined;
}
