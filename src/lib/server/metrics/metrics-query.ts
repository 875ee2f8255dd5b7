import { badRequest } from '../errors';
import { MAX_PAGE_SIZE } from './metrics.repository';

export const DEFAULT_PAGE_SIZE = 1_000;
const KNOWN = ['after', 'limit'];

function wholeNumber(name: string, raw: string, min: number, max: number): number {
	const value = /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
	if (!Number.isSafeInteger(value) || value < min || value > max) {
		throw badRequest(`"${name}" must be a whole number from ${min} to ${max}; it is "${raw.slice(0, 40)}".`, {
			[name]: `Must be a whole number from ${min} to ${max}.`
		});
	}
	return value;
}

/** `?after=STEP&limit=N` of GET …/metrics. */
export function parseMetricsQuery(params: URLSearchParams): { afterStep: number; limit: number } {
	const unknown = [...params.keys()].filter((key) => !KNOWN.includes(key));
	if (unknown.length > 0) {
		throw badRequest(`Unknown query parameter "${unknown[0]}". This endpoint takes: ${KNOWN.join(', ')}.`);
	}
	const after = params.get('after');
	const limit = params.get('limit');
	return {
		afterStep: after === null ? 0 : wholeNumber('after', after, 0, 2 ** 31 - 1),
		limit: limit === null ? DEFAULT_PAGE_SIZE : wholeNumber('limit', limit, 1, MAX_PAGE_SIZE)
	};
}
