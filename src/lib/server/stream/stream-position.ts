import { badRequest } from '../errors';

/** Where a client's stream starts: from the first step, after a step it already has, or live only. */
export type StreamPosition = { kind: 'start' } | { kind: 'after'; step: number } | { kind: 'latest' };

function step(source: string, raw: string): StreamPosition {
	const value = /^\d{1,10}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
	if (!Number.isSafeInteger(value) || value > 2 ** 31 - 1) {
		throw badRequest(
			`${source} must be a step number (a whole number, 0 or more)${source === '"after"' ? ' or "latest"' : ''}; it is "${raw.slice(0, 40)}".`
		);
	}
	return { kind: 'after', step: value };
}

/** The Last-Event-ID header (a browser's reconnect) wins over `?after=`, which is for a first connection. */
export function parseStreamPosition(lastEventId: string | null, after: string | null): StreamPosition {
	if (lastEventId !== null && lastEventId.trim() !== '') return step('Last-Event-ID', lastEventId);
	if (after === null || after === '') return { kind: 'start' };
	if (after === 'latest') return { kind: 'latest' };
	return step('"after"', after);
}
