/**
 * The jobs list's search box: a few terms separated by spaces, all of which must hold.
 *
 *   bert                     name contains "bert" (any case), or a tag is exactly "bert"
 *   "nc one-epoch"           quotes keep spaces together
 *   name:resnet              name contains "resnet"
 *   tag:baseline             has the tag "baseline"
 *   config.optimizer=adam    config value equal (numbers compare as numbers: 0.001 = 1e-3)
 *   config.lr!=0.1           config value missing or different
 *   config.lr>0.01           config value is a number above 0.01 (also >=, <, <=)
 *
 * Pure: the server turns the parsed form into SQL, the browser reads it back for the filters.
 */

export const COMPARISONS = ['=', '!=', '>', '>=', '<', '<='] as const;
export type Comparison = (typeof COMPARISONS)[number];

export interface ConfigCondition {
	/** The key path below config: `config.optimizer.lr` is ['optimizer', 'lr']. */
	path: string[];
	op: Comparison;
	/** The value as typed (quotes removed). */
	text: string;
	/** The value as a number, when it reads as one (required for >, >=, <, <=). */
	number: number | undefined;
}

export interface RunQuery {
	/** Bare words: name contains the word, or a tag equals it. */
	words: string[];
	names: string[];
	tags: string[];
	config: ConfigCondition[];
}

export type RunQueryResult = { ok: true; query: RunQuery } | { ok: false; error: string };

export const QUERY_MAX_LENGTH = 500;
export const QUERY_MAX_TERMS = 20;

const KEY_SEGMENT = /^[A-Za-z0-9_-]+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export const emptyQuery = (): RunQuery => ({ words: [], names: [], tags: [], config: [] });

export function isEmptyQuery(query: RunQuery): boolean {
	return query.words.length + query.names.length + query.tags.length + query.config.length === 0;
}

class Scanner {
	pos = 0;
	constructor(readonly text: string) {}
	get done() {
		return this.pos >= this.text.length;
	}
	peek(length = 1) {
		return this.text.slice(this.pos, this.pos + length);
	}
	skipSpaces() {
		while (!this.done && /\s/.test(this.text[this.pos]!)) this.pos++;
	}
	/** A quoted string (backslash escapes the next character) or a run of characters up to a space or a stop character. */
	value(stop = ''): { text: string; quoted: boolean } {
		if (this.peek() === '"') {
			const start = this.pos++;
			let text = '';
			while (!this.done && this.peek() !== '"') {
				if (this.peek() === '\\') this.pos++;
				text += this.text[this.pos++] ?? '';
			}
			if (this.done) throw new QueryError(`The quote opened at character ${start + 1} is never closed.`);
			this.pos++;
			return { text, quoted: true };
		}
		const start = this.pos;
		while (!this.done && !/\s/.test(this.peek()) && !stop.includes(this.peek())) this.pos++;
		return { text: this.text.slice(start, this.pos), quoted: false };
	}
}

class QueryError extends Error {}

function readComparison(scanner: Scanner): Comparison | undefined {
	for (const op of ['>=', '<=', '!=', '=', '>', '<'] as const) {
		if (scanner.peek(op.length) === op) {
			scanner.pos += op.length;
			return op;
		}
	}
	return undefined;
}

function configTerm(scanner: Scanner, start: number): ConfigCondition {
	scanner.pos += 'config.'.length;
	const { text: keyText } = scanner.value('=!<>');
	const path = keyText.split('.');
	if (keyText === '' || !path.every((segment) => KEY_SEGMENT.test(segment))) {
		throw new QueryError(
			`"${scanner.text.slice(start, scanner.pos)}" needs a config key of letters, digits, _ and - joined by dots, ` +
				'such as config.optimizer.lr=0.01.'
		);
	}
	const op = readComparison(scanner);
	if (!op) throw new QueryError(`"config.${keyText}" needs a comparison: =, !=, >, >=, < or <=, then a value.`);
	const value = scanner.value();
	if (value.text === '' && !value.quoted) throw new QueryError(`"config.${keyText}${op}" needs a value after ${op}.`);
	const number = !value.quoted && NUMBER.test(value.text) ? Number(value.text) : undefined;
	if (op !== '=' && op !== '!=' && number === undefined) {
		throw new QueryError(`"config.${keyText}${op}${value.text}" compares with ${op}, which needs a number.`);
	}
	return { path, op, text: value.text, number };
}

/** Parses the search box's text; an error names what is wrong in words. */
export function parseRunQuery(input: string): RunQueryResult {
	if (input.length > QUERY_MAX_LENGTH)
		return { ok: false, error: `The search is ${input.length} characters long; at most ${QUERY_MAX_LENGTH}.` };
	const query = emptyQuery();
	const scanner = new Scanner(input);
	let terms = 0;
	try {
		for (scanner.skipSpaces(); !scanner.done; scanner.skipSpaces()) {
			if (++terms > QUERY_MAX_TERMS) throw new QueryError(`The search has more than ${QUERY_MAX_TERMS} terms.`);
			const start = scanner.pos;
			if (scanner.peek(7) === 'config.') {
				query.config.push(configTerm(scanner, start));
				continue;
			}
			const word = scanner.value(':');
			if (!word.quoted && scanner.peek() === ':') {
				scanner.pos++;
				const prefix = word.text;
				if (prefix !== 'tag' && prefix !== 'name') {
					throw new QueryError(
						`"${prefix}:" is not a filter: use tag:, name: or config.key=value (put a name with a colon in quotes).`
					);
				}
				const value = scanner.value();
				if (value.text === '') throw new QueryError(`"${prefix}:" needs a value, such as ${prefix}:baseline.`);
				(prefix === 'tag' ? query.tags : query.names).push(value.text);
				continue;
			}
			if (word.text !== '') query.words.push(word.text);
		}
	} catch (error) {
		if (error instanceof QueryError) return { ok: false, error: error.message };
		throw error;
	}
	return { ok: true, query };
}

const quoteIfNeeded = (text: string) => (text === '' || /[\s":]/.test(text) ? JSON.stringify(text) : text);

/** A number as typed; a text that would read back as a number, quoted, so it stays a text. */
function configValueText(condition: ConfigCondition): string {
	if (condition.number !== undefined) return condition.text;
	return NUMBER.test(condition.text) ? JSON.stringify(condition.text) : quoteIfNeeded(condition.text);
}

/** Writes a query back as text the parser reads to the same query. */
export function formatRunQuery(query: RunQuery): string {
	return [
		...query.words.map(quoteIfNeeded),
		...query.names.map((name) => `name:${quoteIfNeeded(name)}`),
		...query.tags.map((tag) => `tag:${quoteIfNeeded(tag)}`),
		...query.config.map((c) => `config.${c.path.join('.')}${c.op}${configValueText(c)}`)
	].join(' ');
}
