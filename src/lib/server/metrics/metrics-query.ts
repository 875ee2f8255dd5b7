import { badRequest } from '../errors';
import { MAX_PAGE_SIZE } from './metrics.repository';
import { POINTS_PER_COLUMN } from '../../training/downsample';

export const DEFAULT_PAGE_SIZE = 1_000;
const KNOWN = ['after', 'limit', 'maxPoints'];

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
	afterStep: number;
	limit: number;
	/** When set, the whole range after `afterStep` downsampled to at most this many points. */
	maxPoints: number | undefined;
}

/** `?after=STEP&limit=N` (a page of raw points) or `?maxPoints=N` (the whole curve, downsampled) of GET …/metrics. */
export function parseMetricsQuery(params: URLSearchParams): MetricsQuery {
	const unknown = [...params.keys()].filter((key) => !KNOWN.includes(key));
	if (unknown.length > 0) {
		throw badRequest(`Unknown query parameter "${unknown[0]}". This endpoint takes: ${KNOWN.join(', ')}.`);
	}
	const after = params.get('after');
	const limit = params.get('limit');
	const maxPoints = params.get('maxPoints');
	if (limit !== null && maxPoints !== null) {
		throw badRequest(
			'Use either "limit" (a page of raw points) or "maxPoints" (the whole curve, downsampled), not both.'
		);
	}
	return {
		maxPoints: maxPoints === null ? undefined : wholeNumber('maxPoints', maxPoints, POINTS_PER_COLUMN, MAX_PAGE_SIZE),
		afterStep: after === null ? 0 : wholeNumber('after', after, 0, 2 ** 31 - 1),
		limit: limit === null ? DEFAULT_PAGE_SIZE : wholeNumber('limit', limit, 1, MAX_PAGE_SIZE)
	};
}
