import { describe, expect, it } from 'vitest';
import { ConnectionLender } from './serialized-pglite-dialect';

describe('ConnectionLender (the one PGlite connection)', () => {
	it('lends to one caller at a time, and to background work before every request that waits', async () => {
		const lender = new ConnectionLender();
		const order: string[] = [];
		const borrow = async (name: string, priority: 'background' | 'request') => {
			await lender.acquire(priority);
			order.push(name);
			await Promise.resolve();
			lender.release();
		};
		await lender.acquire('request'); // a request holds the connection
		const waiting = [
			...Array.from({ length: 5 }, (_, i) => borrow(`request ${i}`, 'request')),
			borrow('tick', 'background')
		];
		lender.release();
		await Promise.all(waiting);
		expect(order).toEqual(['tick', 'request 0', 'request 1', 'request 2', 'request 3', 'request 4']);
	});
});
