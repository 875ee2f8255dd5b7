import { badRequest } from '../errors';
import type { StreamFormat } from './job-stream';
import { keyProblem } from '../../training/metrics';

/** Where a client's stream starts: from the first step, after a step it already has, or live only. */
export type StreamPosition = { kind: 'start' } | { kind: 'after'; step: number } | { kind: 'latest' };

function step(source: string, raw: string): StreamPosition {
	const value = /^\d{1,10}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
	if (!Number.isSafeInteger(value) || value > 2 ** 31 - 1) {
		throw badRequest(
			`${source} must be a step (or, with v=2, a position): a whole number, 0 or more` +
				`${source === '"after"' ? ' or "latest"' : ''}; it is "${raw.slice(0, 40)}".`
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

/** `?v=2[&keys=a,b]`: named metrics with positions as ids; no `v` (or `v=1`): today's events. */
export function parseStreamFormat(version: string | null, keys: string | null): StreamFormat {
	if (version === null || version === '' || version === '1') {
		if (keys !== null) throw badRequest('"keys" needs the named-metrics stream: add v=2 (see docs/streaming.md).');
		return { version: 1 };
	}
	if (version !== '2') throw badRequest(`"v" must be 1 or 2; it is "${version.slice(0, 10)}".`);
	if (keys === null || keys === '') return { version: 2, keys: undefined };
	const list = keys.split(',');
	for (const key of list) {
		const problem = keyProblem(key);
		if (problem) throw badRequest(`"keys": ${problem}`);
	}
	return { version: 2, keys: new Set(list) };
}
