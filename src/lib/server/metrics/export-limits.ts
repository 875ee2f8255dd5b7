import { HttpError, TooManyRequests } from '../errors';

export interface ExportLimitOptions {
	/** Downloads open at once in this process. */
	max: number;
	/** Downloads open at once from one client address. */
	maxPerClient: number;
	/** A download whose client takes nothing for this long is ended. */
	idleMs: number;
}

const RETRY_AFTER_S = 5;

/**
 * Bounds the downloads (CSV and JSON exports) a process serves at once, overall and per
 * client: each holds a page in memory and a socket, and a client that stops reading
 * holds both until the idle timeout. The cap bounds the memory and the database reads
 * that exports can take, whatever the clients do.
 */
export class ExportLimits {
	#open = new Map<string, number>();
	#total = 0;
	#enders = new Set<() => void>();
	#ended = false;

	constructor(readonly options: ExportLimitOptions) {}

	get open(): number {
		return this.#total;
	}

	/**
	 * Takes a slot for `client`, or throws a 429. `end` is called if the process shuts
	 * down while the download is open; the returned function gives the slot back (once).
	 */
	acquire(client: string, end: () => void): () => void {
		// Asked for on a keep-alive connection after the shutdown began: it would be cut anyway.
		if (this.#ended) throw new HttpError(503, 'The server is shutting down. Try again in a moment.');
		const mine = this.#open.get(client) ?? 0;
		if (mine >= this.options.maxPerClient) {
			throw new TooManyRequests(
				`You have ${mine} downloads open already (at most ${this.options.maxPerClient} per client). ` +
					'Finish one, then try again.',
				RETRY_AFTER_S
			);
		}
		if (this.#total >= this.options.max) {
			throw new TooManyRequests(
				`The server is serving ${this.#total} downloads, its limit. Try again in a few seconds.`,
				RETRY_AFTER_S
			);
		}
		this.#open.set(client, mine + 1);
		this.#total++;
		this.#enders.add(end);
		let released = false;
		return () => {
			if (released) return;
			released = true;
			this.#enders.delete(end);
			this.#total--;
			const left = (this.#open.get(client) ?? 1) - 1;
			if (left > 0) this.#open.set(client, left);
			else this.#open.delete(client);
		};
	}

	/** At shutdown: ends every open download, so that the HTTP server can close now. */
	endAll(): void {
		this.#ended = true;
		for (const end of [...this.#enders]) {
			try {
				end();
			} catch {
				// a download still starting: its destroyed socket cancels it
			}
		}
	}
}
