/**
 * How long to wait after the n-th failure in a row: 0.5 s, 1 s, 2 s, … up to 30 s, with ±50 %
 * jitter so that many scripts do not all come back at the same instant. The same curve as the
 * Python client's.
 */
export function backoffMs(failures: number, random: () => number = Math.random): number {
	const base = Math.min(30_000, 250 * 2 ** Math.min(Math.max(failures, 1), 8));
	return base * (0.5 + random());
}
