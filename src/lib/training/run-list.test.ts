import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, parseRunListParams } from './run-list';

const parse = (query: string) => parseRunListParams(new URLSearchParams(query));
const ID = '0b7c1d7e-3f9a-4c52-9d1e-5a6b7c8d9e0f';

describe('run list parameters', () => {
	it('has defaults: newest first, 50 a page, archived left out, no config', () => {
		expect(parse('')).toMatchObject({
			ok: true,
			request: { sort: 'created', order: 'desc', limit: 50, archived: 'exclude', withConfig: false, statuses: [] }
		});
		expect(parse('sort=name')).toMatchObject({ request: { sort: 'name', order: 'asc' } });
	});

	it('reads lists given as repeats or commas', () => {
		expect(parse('status=running,queued&status=failed&tag=a&tag=b&fields=config')).toMatchObject({
			request: { statuses: ['running', 'queued', 'failed'], tags: ['a', 'b'], withConfig: true }
		});
	});

	it('names the bad parameter', () => {
		const cases: [string, string][] = [
			['status=paused', 'status'],
			['source=cron', 'source'],
			[`tag=${'x'.repeat(65)}`, 'tag'],
			['sort=loss', 'sort'],
			['order=up', 'order'],
			['limit=0', 'limit'],
			['limit=201', 'limit'],
			['limit=2.5', 'limit'],
			['fields=everything', 'fields'],
			['archived=maybe', 'archived'],
			['cursor=garbage', 'cursor'],
			['q=config.lr>x', 'q'],
			['page=2', 'page']
		];
		for (const [query, param] of cases) {
			const result = parse(query);
			expect(result, query).toMatchObject({ ok: false, param });
			if (!result.ok) expect(result.error, query).toContain(param);
		}
	});

	it('round-trips a cursor and refuses one from another sort', () => {
		const cursor = { sort: 'name' as const, order: 'asc' as const, key: 'ünïcode run', id: ID };
		expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
		expect(parse(`sort=name&cursor=${encodeCursor(cursor)}`)).toMatchObject({ ok: true, request: { cursor } });
		expect(parse(`sort=created&cursor=${encodeCursor(cursor)}`)).toMatchObject({ ok: false, param: 'cursor' });
	});
});
