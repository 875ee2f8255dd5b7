import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';

/**
 * The database did not answer in time: it is frozen, overloaded or unreachable. Its
 * code makes isDatabaseUnavailable() true, so a request answers 503 instead of hanging.
 */
export class DatabaseTimeoutError extends Error {
	readonly code = 'VAPOR_DB_TIMEOUT';
}

/**
 * Asked for a connection after the pool began to close (a shutdown): the request it was
 * for has lost its client already. Answered 503 like a database that is away, not logged.
 */
export class DatabaseClosingError extends Error {
	readonly code = 'VAPOR_DB_CLOSING';
	constructor() {
		super('The server is shutting down.');
	}
}

export interface Deadlines {
	/** The longest wait for a free connection of the pool. */
	acquireMs: number;
	/** The longest wait for one statement's answer. */
	queryMs: number;
	/** A name for messages: "requests", "background". */
	name: string;
}

export interface DeadlineDialect extends Dialect {
	/** Resolves once no connection of this Kysely instance is in use, or after `ms`. */
	idle(ms: number): Promise<void>;
	/**
	 * Refuses every wait for a connection from now on, those already waiting too: at a
	 * shutdown, hundreds of requests queued for the pool would otherwise each take their
	 * turn (one run took 1.1 s of its stop so) for clients whose connections were cut.
	 */
	refuse(): void;
}

/**
 * A dialect whose connections give up after a deadline. Neither postgres.js nor
 * Kysely has a client-side timeout, and a server-side statement_timeout cannot fire in
 * a database that is frozen (SIGSTOP, a stalled disk, a network black hole): without
 * this, every request waits for as long as the database does. A statement that times
 * out keeps its connection until its answer comes, so the connection is never handed
 * to another caller with a statement still in flight.
 */
export function withDeadlines(dialect: Dialect, deadlines: Deadlines): DeadlineDialect {
	const inUse = new Set<DatabaseConnection>();
	const waiters = new Set<() => void>();
	const released = (connection: DatabaseConnection) => {
		inUse.delete(connection);
		if (inUse.size === 0) for (const wake of waiters) wake();
	};
	const gate = new Gate();
	return {
		createAdapter: () => dialect.createAdapter(),
		createIntrospector: (db) => dialect.createIntrospector(db),
		createQueryCompiler: () => dialect.createQueryCompiler(),
		createDriver: () => new DeadlineDriver(dialect.createDriver(), deadlines, inUse, released, gate),
		idle(ms) {
			if (inUse.size === 0) return Promise.resolve();
			return new Promise((resolve) => {
				const done = () => {
					clearTimeout(timer);
					waiters.delete(done);
					resolve();
				};
				const timer = setTimeout(done, ms);
				waiters.add(done);
			});
		},
		refuse: () => gate.close()
	};
}

/** Closed once; `closed` rejects from then on, for every race it is in. */
class Gate {
	isClosed = false;
	#close!: (error: Error) => void;
	readonly closed = new Promise<never>((_, reject) => (this.#close = reject));

	constructor() {
		this.closed.catch(() => {}); // rejected with no one racing it: not unhandled
	}

	close(): void {
		this.isClosed = true;
		this.#close(new DatabaseClosingError());
	}
}

function deadline<T>(
	work: Promise<T>,
	ms: number,
	message: string,
	gate?: Gate
): { result: Promise<T>; settled: Promise<void> } {
	let timer: NodeJS.Timeout | undefined;
	const timedOut = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new DatabaseTimeoutError(message)), ms);
	});
	const result = Promise.race(gate ? [work, timedOut, gate.closed] : [work, timedOut]);
	// Not left running once the race is decided: a pending timer would hold a stopping process.
	const stop = () => clearTimeout(timer);
	result.then(stop, stop);
	const settled = work.then(
		() => {},
		() => {}
	);
	return { result, settled };
}

class DeadlineConnection implements DatabaseConnection {
	/** A statement that timed out and has not been answered yet. */
	stuck: Promise<void> | undefined;

	constructor(
		readonly inner: DatabaseConnection,
		private readonly deadlines: Deadlines
	) {}

	async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
		const { result, settled } = deadline(
			this.inner.executeQuery<R>(query),
			this.deadlines.queryMs,
			`The database did not answer within ${this.deadlines.queryMs} ms (${this.deadlines.name}).`
		);
		try {
			return await result;
		} catch (error) {
			if (error instanceof DatabaseTimeoutError) this.stuck = settled;
			throw error;
		}
	}

	streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
		return this.inner.streamQuery<R>(query, chunkSize);
	}
}

class DeadlineDriver implements Driver {
	constructor(
		private readonly inner: Driver,
		private readonly deadlines: Deadlines,
		private readonly inUse: Set<DatabaseConnection>,
		private readonly released: (connection: DatabaseConnection) => void,
		private readonly gate: Gate
	) {}

	init() {
		return this.inner.init();
	}

	async acquireConnection(options?: Parameters<Driver['acquireConnection']>[0]): Promise<DatabaseConnection> {
		if (this.gate.isClosed) throw new DatabaseClosingError();
		const acquiring = this.inner.acquireConnection(options);
		const { result } = deadline(
			acquiring,
			this.deadlines.acquireMs,
			`No database connection was free within ${this.deadlines.acquireMs} ms (${this.deadlines.name}): ` +
				'the database is not answering or is overloaded.',
			this.gate
		);
		try {
			const connection = new DeadlineConnection(await result, this.deadlines);
			this.inUse.add(connection);
			return connection;
		} catch (error) {
			// A connection granted after we gave up goes straight back.
			if (error instanceof DatabaseTimeoutError || error instanceof DatabaseClosingError)
				acquiring.then((late) => this.inner.releaseConnection(late)).catch(() => {});
			throw error;
		}
	}

	async releaseConnection(connection: DatabaseConnection): Promise<void> {
		const wrapped = connection as DeadlineConnection;
		const release = async () => {
			try {
				await this.inner.releaseConnection(wrapped.inner);
			} finally {
				this.released(wrapped);
			}
		};
		// Not back to the pool while a timed-out statement still runs on it.
		if (wrapped.stuck) void wrapped.stuck.then(release, release);
		else await release();
	}

	// Transactions run on the driver's own connection object (PGlite's driver needs it).
	beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
		return this.inner.beginTransaction((connection as DeadlineConnection).inner, settings);
	}
	commitTransaction(connection: DatabaseConnection) {
		return this.inner.commitTransaction((connection as DeadlineConnection).inner);
	}
	rollbackTransaction(connection: DatabaseConnection) {
		return this.inner.rollbackTransaction((connection as DeadlineConnection).inner);
	}
	destroy() {
		return this.inner.destroy();
	}
}
