import {
	PGliteDialect,
	type DatabaseConnection,
	type Driver,
	type PGliteDialectConfig,
	type TransactionSettings
} from 'kysely';

export type Priority = 'background' | 'request';

/**
 * PGlite is a single connection. This lends it to one caller at a time, across every
 * Kysely instance on the same PGlite, and lends it to background work (the simulator,
 * roll-ups) before any request that waits: however many requests queue, a tick waits
 * for at most the one query in flight, never for the whole queue.
 */
export class ConnectionLender {
	#busy = false;
	#waiting: Record<Priority, (() => void)[]> = { background: [], request: [] };

	acquire(priority: Priority): Promise<void> {
		if (!this.#busy) {
			this.#busy = true;
			return Promise.resolve();
		}
		return new Promise((resolve) => this.#waiting[priority].push(resolve));
	}

	release(): void {
		const next = this.#waiting.background.shift() ?? this.#waiting.request.shift();
		if (next) next();
		else this.#busy = false;
	}
}

export interface SerializedPGliteDialectConfig extends PGliteDialectConfig {
	lender: ConnectionLender;
	priority: Priority;
}

/**
 * Kysely's PGlite driver hands the one connection to every caller, so a query issued
 * while a transaction is open would run inside that transaction. This driver borrows
 * the connection from the lender for each query or transaction.
 */
export class SerializedPGliteDialect extends PGliteDialect {
	constructor(private readonly serialized: SerializedPGliteDialectConfig) {
		super(serialized);
	}

	override createDriver(): Driver {
		return new SerializedDriver(super.createDriver(), this.serialized.lender, this.serialized.priority);
	}
}

class SerializedDriver implements Driver {
	constructor(
		private readonly inner: Driver,
		private readonly lender: ConnectionLender,
		private readonly priority: Priority
	) {}

	init() {
		return this.inner.init();
	}

	async acquireConnection(): Promise<DatabaseConnection> {
		await this.lender.acquire(this.priority);
		try {
			return await this.inner.acquireConnection();
		} catch (error) {
			this.lender.release();
			throw error;
		}
	}

	async releaseConnection(connection: DatabaseConnection): Promise<void> {
		try {
			await this.inner.releaseConnection(connection);
		} finally {
			this.lender.release();
		}
	}

	beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
		return this.inner.beginTransaction(connection, settings);
	}
	commitTransaction(connection: DatabaseConnection) {
		return this.inner.commitTransaction(connection);
	}
	rollbackTransaction(connection: DatabaseConnection) {
		return this.inner.rollbackTransaction(connection);
	}
	// Both Kysely instances (requests, background) share one PGlite: closing it here would
	// race the other instance's destroy ("PGlite is closing"). Its opener closes it.
	async destroy() {}
}
