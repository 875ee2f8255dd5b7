/**
 * Sign-in throttling: after `limit` failures in `windowMs` for one key (an account, or an
 * address), further attempts for that key are refused until the oldest failure ages out.
 * In memory, per process: enough to make guessing slow; a restart forgets it.
 */
export class Throttle {
	readonly #failures = new Map<string, number[]>();

	constructor(
		readonly limit: number,
		readonly windowMs: number,
		private readonly now: () => number = Date.now
	) {}

	/** Milliseconds until the key may try again; 0 when it may now. */
	retryAfter(key: string): number {
		const recent = this.#recent(key);
		if (recent.length < this.limit) return 0;
		return Math.max(1, recent[recent.length - this.limit]! + this.windowMs - this.now());
	}

	fail(key: string): void {
		const recent = this.#recent(key);
		recent.push(this.now());
		this.#failures.set(key, recent);
		if (this.#failures.size > 10_000) this.#sweep();
	}

	succeed(key: string): void {
		this.#failures.delete(key);
	}

	#recent(key: string): number[] {
		const since = this.now() - this.windowMs;
		return (this.#failures.get(key) ?? []).filter((at) => at > since);
	}

	#sweep(): void {
		for (const key of [...this.#failures.keys()]) {
			const recent = this.#recent(key);
			if (recent.length === 0) this.#failures.delete(key);
			else this.#failures.set(key, recent);
		}
	}
}
