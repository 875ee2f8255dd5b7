/** The first history page of every connection: a few kilobytes, which even a connection cut within a second delivers. */
export const FIRST_HISTORY_PAGE = 16;

/**
 * The sizes of one connection's history pages: small first, doubling up to `max`. A
 * connection that is cut every few hundred ms still completes its first pages, and each
 * reconnect resumes after them, so the history always arrives; a healthy connection is at
 * full pages after a handful of queries.
 */
export function historyPageSizes(max: number): () => number {
	let size = Math.min(FIRST_HISTORY_PAGE, max);
	return () => {
		const current = size;
		size = Math.min(size * 2, max);
		return current;
	};
}
