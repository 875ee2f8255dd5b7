/**
 * A Postgres array literal ('{1,2,NULL}') built in one pass. Sent as ONE text parameter
 * and cast in SQL (`$1::integer[]`), it spares postgres.js escaping every element of an
 * array parameter, which was most of the server's CPU per ingested point.
 * Numbers print as JavaScript does, which Postgres reads back exactly (shortest
 * round-trip form), including NaN, Infinity and -Infinity; strings are double-quoted.
 */
export function arrayLiteral(values: readonly (number | string | null | undefined)[]): string {
	let literal = '{';
	for (let i = 0; i < values.length; i++) {
		const value = values[i];
		if (i > 0) literal += ',';
		if (value === null || value === undefined) literal += 'NULL';
		else if (typeof value === 'number') literal += String(value);
		else literal += `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
	}
	return literal + '}';
}
