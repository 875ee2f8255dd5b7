import { JOB_SOURCES, JOB_STATUSES, type JobSource, type JobStatus } from './job';
import { parseRunQuery, type RunQuery } from './run-query';
import { TAG_MAX_LENGTH } from './run-limits';

/** Columns the run table sorts by. `metric` is the latest loss; `duration` runs from start to finish. */
export const RUN_SORTS = ['created', 'name', 'status', 'metric', 'duration'] as const;
export type RunSort = (typeof RUN_SORTS)[number];
export const RUN_ORDERS = ['asc', 'desc'] as const;
export type RunOrder = (typeof RUN_ORDERS)[number];
export const ARCHIVED_CHOICES = ['exclude', 'include', 'only'] as const;
export type ArchivedChoice = (typeof ARCHIVED_CHOICES)[number];
export const LIST_FIELDS = ['config'] as const;

export const LIST_LIMIT = { default: 50, max: 200 } as const;

/** What each sort starts with when no order is given: newest, A to Z, lowest loss, shortest. */
export const DEFAULT_ORDER: Record<RunSort, RunOrder> = {
	created: 'desc',
	name: 'asc',
	status: 'asc',
	metric: 'asc',
	duration: 'asc'
};

/** Where the previous page ended: the sort key of its last row (as the database printed it) and its id. */
export interface RunCursor {
	sort: RunSort;
	order: RunOrder;
	key: string | null;
	id: string;
}

export interface RunListRequest {
	/** The search text as given, and parsed. */
	q: string;
	query: RunQuery;
	statuses: JobStatus[];
	sources: JobSource[];
	tags: string[];
	archived: ArchivedChoice;
	sort: RunSort;
	order: RunOrder;
	cursor: RunCursor | undefined;
	limit: number;
	withConfig: boolean;
}

export type RunListParse = { ok: true; request: RunListRequest } | { ok: false; param: string; error: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const base64url = {
	encode: (text: string) =>
		btoa(String.fromCharCode(...new TextEncoder().encode(text)))
			.replace(/\+/g, '-')
			.replace(/\//g, '_')
			.replace(/=+$/, ''),
	decode: (text: string) =>
		new TextDecoder().decode(Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))
};

export function encodeCursor(cursor: RunCursor): string {
	return base64url.encode(JSON.stringify([cursor.sort, cursor.order, cursor.key, cursor.id]));
}

export function decodeCursor(text: string): RunCursor | undefined {
	try {
		const [sort, order, key, id] = JSON.parse(base64url.decode(text)) as unknown[];
		if (!RUN_SORTS.includes(sort as RunSort) || !RUN_ORDERS.includes(order as RunOrder)) return undefined;
		if (!(key === null || typeof key === 'string') || typeof id !== 'string' || !UUID.test(id)) return undefined;
		return { sort: sort as RunSort, order: order as RunOrder, key, id };
	} catch {
		return undefined;
	}
}

/** Values of a parameter given once or more, each possibly comma-separated (`status=running,queued`). */
function listOf(params: URLSearchParams, name: string): string[] {
	return params
		.getAll(name)
		.flatMap((value) => value.split(','))
		.map((value) => value.trim())
		.filter((value) => value !== '');
}

function oneOf<T extends string>(
	params: URLSearchParams,
	name: string,
	choices: readonly T[],
	fallback: T
): T | { error: string } {
	const value = params.get(name);
	if (value === null || value === '') return fallback;
	if (choices.includes(value as T)) return value as T;
	return { error: `${name} must be one of ${choices.join(', ')}; "${value.slice(0, 40)}" is not.` };
}

const KNOWN = new Set(['q', 'status', 'source', 'tag', 'archived', 'sort', 'order', 'cursor', 'limit', 'fields']);

/** Reads GET /api/training/jobs's parameters (and the run table's address); the first bad one is named. */
export function parseRunListParams(params: URLSearchParams, { strict = true } = {}): RunListParse {
	const fail = (param: string, error: string): RunListParse => ({ ok: false, param, error });
	if (strict) {
		for (const name of params.keys())
			if (!KNOWN.has(name)) return fail(name, `Unknown parameter "${name}": use ${[...KNOWN].join(', ')}.`);
	}

	const q = params.get('q') ?? '';
	const parsed = parseRunQuery(q);
	if (!parsed.ok) return fail('q', `q: ${parsed.error}`);

	const statuses = listOf(params, 'status');
	const badStatus = statuses.find((status) => !JOB_STATUSES.includes(status as JobStatus));
	if (badStatus !== undefined)
		return fail('status', `status must be one or more of ${JOB_STATUSES.join(', ')}; "${badStatus}" is not.`);

	const sources = listOf(params, 'source');
	const badSource = sources.find((source) => !JOB_SOURCES.includes(source as JobSource));
	if (badSource !== undefined)
		return fail('source', `source must be ${JOB_SOURCES.join(' or ')}; "${badSource}" is not.`);

	// An empty field of the filter form means "any".
	const tags = params
		.getAll('tag')
		.map((tag) => tag.trim())
		.filter((tag) => tag !== '');
	if (tags.some((tag) => tag.length > TAG_MAX_LENGTH))
		return fail('tag', `tag must be at most ${TAG_MAX_LENGTH} characters.`);

	const archived = oneOf(params, 'archived', ARCHIVED_CHOICES, 'exclude');
	if (typeof archived === 'object') return fail('archived', archived.error);
	const sort = oneOf(params, 'sort', RUN_SORTS, 'created');
	if (typeof sort === 'object') return fail('sort', sort.error);
	const order = oneOf(params, 'order', RUN_ORDERS, DEFAULT_ORDER[sort]);
	if (typeof order === 'object') return fail('order', order.error);

	const limitText = params.get('limit');
	let limit: number = LIST_LIMIT.default;
	if (limitText !== null && limitText !== '') {
		limit = Number(limitText);
		if (!/^\d+$/.test(limitText) || limit < 1 || limit > LIST_LIMIT.max)
			return fail('limit', `limit must be a whole number from 1 to ${LIST_LIMIT.max}.`);
	}

	const fields = listOf(params, 'fields');
	const badField = fields.find((field) => !LIST_FIELDS.includes(field as 'config'));
	if (badField !== undefined) return fail('fields', `fields can only be config; "${badField}" is not a field.`);

	let cursor: RunCursor | undefined;
	const cursorText = params.get('cursor');
	if (cursorText) {
		cursor = decodeCursor(cursorText);
		if (!cursor)
			return fail('cursor', 'cursor is not one this server gave out: use the nextCursor of a previous answer.');
		if (cursor.sort !== sort || cursor.order !== order)
			return fail(
				'cursor',
				`cursor belongs to sort=${cursor.sort}&order=${cursor.order}; ask with the same sort and order.`
			);
	}

	return {
		ok: true,
		request: {
			q,
			query: parsed.query,
			statuses: statuses as JobStatus[],
			sources: sources as JobSource[],
			tags,
			archived,
			sort,
			order,
			cursor,
			limit,
			withConfig: fields.includes('config')
		}
	};
}
