import { describe, expect, it } from 'vitest';
import { formatRunQuery, parseRunQuery, type RunQuery } from './run-query';

const parse = (text: string): RunQuery => {
	const result = parseRunQuery(text);
	if (!result.ok) throw new Error(result.error);
	return result.query;
};
const error = (text: string): string => {
	const result = parseRunQuery(text);
	if (result.ok) throw new Error(`"${text}" parsed`);
	return result.error;
};

describe('parseRunQuery', () => {
	it('reads nothing from an empty or blank search', () => {
		expect(parse('   ')).toEqual({ words: [], names: [], tags: [], config: [] });
	});

	it('reads bare words, quoted phrases, names and tags', () => {
		expect(parse(' bert  "nc one-epoch" name:resnet tag:baseline tag:"with space"')).toEqual({
			words: ['bert', 'nc one-epoch'],
			names: ['resnet'],
			tags: ['baseline', 'with space'],
			config: []
		});
	});

	it('reads config comparisons with nested keys, numbers and text', () => {
		expect(parse('config.optimizer.lr>=0.01 config.optimizer.name=adam config.seed!=42 config.note="a b"')).toEqual({
			words: [],
			names: [],
			tags: [],
			config: [
				{ path: ['optimizer', 'lr'], op: '>=', text: '0.01', number: 0.01 },
				{ path: ['optimizer', 'name'], op: '=', text: 'adam', number: undefined },
				{ path: ['seed'], op: '!=', text: '42', number: 42 },
				{ path: ['note'], op: '=', text: 'a b', number: undefined }
			]
		});
		expect(parse('config.lr<1e-3').config[0]).toMatchObject({ op: '<', number: 0.001 });
		// A quoted number is text: it matches the string "3", not the number.
		expect(parse('config.layers="3"').config[0]).toMatchObject({ text: '3', number: undefined });
	});

	it('names what is wrong', () => {
		expect(error('config.lr>fast')).toMatch(/needs a number/);
		expect(error('config.lr')).toMatch(/needs a comparison/);
		expect(error('config.=1')).toMatch(/config key/);
		expect(error('config.a..b=1')).toMatch(/config key/);
		expect(error('config.lr=')).toMatch(/needs a value/);
		expect(error('tag:')).toMatch(/"tag:" needs a value/);
		expect(error('owner:me')).toMatch(/"owner:" is not a filter/);
		expect(error('"open')).toMatch(/never closed/);
		expect(error('a '.repeat(21))).toMatch(/more than 20 terms/);
		expect(error('x'.repeat(501))).toMatch(/at most 500/);
	});

	it('writes a query back to text that reads the same', () => {
		for (const text of [
			'bert "two words" name:"a:b" tag:x config.a.b>=1.5 config.c="3" config.d=adam config.e!=2',
			'tag:"with space"'
		]) {
			const query = parse(text);
			expect(parse(formatRunQuery(query))).toEqual(query);
		}
	});
});
