import {
	PGliteDialect,
	type DatabaseConnection,
	type Driver,
	type PGliteDialectConfig,
	type TransactionSettings
} from 'kysely';

/**
 * PGlite is a single connection. Kysely's PGlite driver hands that one connection
 * to every caller, so a query issued while a transaction is open would run inside
 * that transaction. This driver lends the connection to one caller at a time.
 */
export class SerializedPGliteDialect extends PGliteDialect {
	constructor(config: PGliteDialectConfig) {
		super(config);
	}

	override createDriver(): Driver {
		return new SerializedDriver(super.createDriver());
	}
}

class SerializedDriver implements Driver {
	#queue: Promise<void> = Promise.resolve();
	#release: (() => void) | undefined;

	constructor(private readonly inner: Driver) {}

	init() {
		return this.inner.init();
	}

	async acquireConnection(): Promise<DatabaseConnection> {
		const previous = this.#queue;
		let release!: () => void;
		this.#queue = new Promise((resolve) => (release = resolve));
		await previous;
		this.#release = release;
		return this.inner.acquireConnection();
	}

	async releaseConnection(connection: DatabaseConnection): Promise<void> {
		await this.inner.releaseConnection(connection);
		const release = this.#release;
		this.#release = undefined;
		release?.();
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
	destroy() {
		return this.inner.destroy();
	}
}
