import { badRequest } from '../errors';
import { MAX_PAGE_SIZE } from './metrics.repository';
import { POINTS_PER_COLUMN, VALUES_PER_COLUMN } from '../../training/downsample';
import { keyProblem, MAX_KEYS_PER_JOB } from '../../training/metrics';

export const DEFAULT_PAGE_SIZE = 1_000;
const KNOWN = ['after', 'limit', 'maxPoints', 'key', 'keys', 'fromStep', 'toStep'];
const MAX_STEP = 2 ** 31 - 1;

function wholeNumber(name: string, raw: string, min: number, max: number): number {
	const value = /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
	if (!Number.isSafeInteger(value) || value < min || value > max) {
		throw badRequest(`"${name}" must be a whole number from ${min} to ${max}; it is "${raw.slice(0, 40)}".`, {
			[name]: `Must be a whole number from ${min} to ${max}.`
		});
	}
	return value;
}

export interface MetricsQuery {
	/** undefined: today's points of the primary metric; else the named keys. */
	keys: string[] | undefined;
	afterStep: number;
	limit: number;
	/** When set, the range downsampled to at most this many points (per key). */
	maxPoints: number | undefined;
	fromStep: number;
	toStep: number;
}

/**
 * GET …/metrics: `?after=STEP&limit=N` (a page of raw values) or `?maxPoints=N[&fromStep=&toStep=]`
 * (the range, downsampled), of today's points (no key), one key (`key=K`) or several (`keys=a,b`).
 */
export function parseMetricsQuery(params: URLSearchParams): MetricsQuery {
	const unknown = [...params.keys()].filter((key) => !KNOWN.includes(key));
	if (unknown.length > 0) {
		throw badRequest(`Unknown query parameter "${unknown[0]}". This endpoint takes: ${KNOWN.join(', ')}.`);
	}
	const get = (name: string) => params.get(name);
	if (get('limit') !== null && get('maxPoints') !== null) {
		throw badRequest('Use either "limit" (a page of raw values) or "maxPoints" (the range, downsampled), not both.');
	}
	if (get('key') !== null && get('keys') !== null) throw badRequest('Use either "key" or "keys", not both.');
	const keyList = get('key') !== null ? [get('key')!] : get('keys') !== null ? get('keys')!.split(',') : undefined;
	if (keyList) {
		if (keyList.length > MAX_KEYS_PER_JOB) throw badRequest(`At most ${MAX_KEYS_PER_JOB} keys at once.`);
		for (const key of keyList) {
			const problem = keyProblem(key);
			if (problem) throw badRequest(`"keys": ${problem}`, { keys: problem });
		}
	}
	if (!keyList && (get('fromStep') !== null || get('toStep') !== null)) {
		throw badRequest('"fromStep" and "toStep" go with "key" or "keys".');
	}
	const fromStep = get('fromStep') === null ? 1 : wholeNumber('fromStep', get('fromStep')!, 1, MAX_STEP);
	const toStep = get('toStep') === null ? MAX_STEP : wholeNumber('toStep', get('toStep')!, 1, MAX_STEP);
	if (fromStep > toStep) throw badRequest(`"fromStep" (${fromStep}) must not be after "toStep" (${toStep}).`);
	const minPoints = keyList ? VALUES_PER_COLUMN : POINTS_PER_COLUMN;
	return {
		keys: keyList ? [...new Set(keyList)] : undefined,
		maxPoints:
			get('maxPoints') === null ? undefined : wholeNumber('maxPoints', get('maxPoints')!, minPoints, MAX_PAGE_SIZE),
		afterStep: get('after') === null ? 0 : wholeNumber('after', get('after')!, 0, MAX_STEP),
		limit: get('limit') === null ? DEFAULT_PAGE_SIZE : wholeNumber('limit', get('limit')!, 1, MAX_PAGE_SIZE),
		fromStep,
		toStep
	};
}

/** `?keys=a,b` of the exports: the keys to include, or undefined for every key. */
export function parseKeysParam(raw: string | null): ReadonlySet<string> | undefined {
	if (raw === null || raw === '') return undefined;
	const list = raw.split(',');
	for (const key of list) {
		const problem = keyProblem(key);
		if (problem) throw badRequest(`"keys": ${problem}`, { keys: problem });
	}
	return new Set(list);
}

/** The narrowest and widest chart a range read serves, in pixel columns. */
export const MIN_RANGE_WIDTH = 10;
export const MAX_RANGE_WIDTH = Math.floor(MAX_PAGE_SIZE / VALUES_PER_COLUMN);
const RANGE_PARAMS = ['key', 'fromStep', 'toStep', 'width'];

export interface RangeQuery {
	key: string;
	fromStep: number;
	toStep: number;
	/** The chart's width in pixel columns. */
	width: number;
}

/** GET …/metrics/range: `?key=K&fromStep=A&toStep=B&width=W`, each required. */
export function parseRangeQuery(params: URLSearchParams): RangeQuery {
	const unknown = [...params.keys()].filter((name) => !RANGE_PARAMS.includes(name));
	if (unknown.length > 0) {
		throw badRequest(`Unknown query parameter "${unknown[0]}". This endpoint takes: ${RANGE_PARAMS.join(', ')}.`);
	}
	const missing = RANGE_PARAMS.filter((name) => params.get(name) === null);
	if (missing.length > 0) {
		throw badRequest(
			`"${missing[0]}" is missing: a range read takes key, fromStep, toStep and width (the chart's width in pixels).`,
			{ [missing[0]!]: 'Required.' }
		);
	}
	const key = params.get('key')!;
	const problem = keyProblem(key);
	if (problem) throw badRequest(`"key": ${problem}`, { key: problem });
	const fromStep = wholeNumber('fromStep', params.get('fromStep')!, 0, MAX_STEP);
	const toStep = wholeNumber('toStep', params.get('toStep')!, 0, MAX_STEP);
	if (fromStep > toStep) throw badRequest(`"fromStep" (${fromStep}) must not be after "toStep" (${toStep}).`);
	const width = wholeNumber('width', params.get('width')!, MIN_RANGE_WIDTH, MAX_RANGE_WIDTH);
	return { key, fromStep, toStep, width };
}
