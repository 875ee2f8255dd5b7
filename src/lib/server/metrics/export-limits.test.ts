import { describe, expect, it } from 'vitest';
import { TooManyRequests } from '../errors';
import { ExportLimits } from './export-limits';

describe('ExportLimits', () => {
	const limits = () => new ExportLimits({ max: 3, maxPerClient: 2, idleMs: 1_000 });

	it('refuses a third download from one client with a 429 and Retry-After, and takes it after a release', () => {
		const l = limits();
		const release = l.acquire('a', () => {});
		l.acquire('a', () => {});
		const refused = (() => {
			try {
				l.acquire('a', () => {});
			} catch (error) {
				return error;
			}
		})();
		expect(refused).toBeInstanceOf(TooManyRequests);
		expect((refused as TooManyRequests).status).toBe(429);
		expect((refused as TooManyRequests).retryAfterSeconds).toBeGreaterThan(0);
		release();
		release(); // twice is once
		expect(() => l.acquire('a', () => {})).not.toThrow();
		expect(l.open).toBe(2);
	});

	it('caps downloads overall, ends every open one at shutdown, and refuses new ones after with a 503', () => {
		const l = limits();
		const ended: string[] = [];
		const releases = ['a', 'b', 'c'].map((client) => l.acquire(client, () => ended.push(client)));
		expect(() => l.acquire('d', () => {})).toThrow(/limit/);
		l.endAll();
		expect(ended.sort()).toEqual(['a', 'b', 'c']);
		for (const release of releases) release();
		expect(() => l.acquire('d', () => {})).toThrow(expect.objectContaining({ status: 503 }));
	});
});
