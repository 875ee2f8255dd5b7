import {
	DummyDriver,
	PostgresAdapter,
	PostgresIntrospector,
	PostgresQueryCompiler,
	type DatabaseConnection,
	type Dialect
} from 'kysely';
import { describe, expect, it } from 'vitest';
import { DatabaseClosingError, withDeadlines } from './deadlines';

/** A pool of one connection, as the database's driver would be when every connection is busy. */
function poolOfOne() {
	const connection: DatabaseConnection = {
		executeQuery: async () => ({ rows: [] }),
		// eslint-disable-next-line require-yield
		streamQuery: async function* () {
			return;
		}
	};
	const waiting: ((c: DatabaseConnection) => void)[] = [];
	let free = true;
	const driver = new (class extends DummyDriver {
		override async acquireConnection() {
			if (free) {
				free = false;
				return connection;
			}
			return new Promise<DatabaseConnection>((resolve) => waiting.push(resolve));
		}
		override async releaseConnection() {
			const next = waiting.shift();
			if (next) next(connection);
			else free = true;
		}
	})();
	const dialect: Dialect = {
		createAdapter: () => new PostgresAdapter(),
		createDriver: () => driver,
		createIntrospector: (db) => new PostgresIntrospector(db),
		createQueryCompiler: () => new PostgresQueryCompiler()
	};
	return { dialect, isFree: () => free };
}

describe('withDeadlines', () => {
	it('refuses the waits for a connection at once when the pool closes, and gives a late grant back', async () => {
		const pool = poolOfOne();
		// Deadlines far beyond the test: only refuse() can end these waits.
		const dialect = withDeadlines(pool.dialect, { name: 'requests', acquireMs: 60_000, queryMs: 60_000 });
		const driver = dialect.createDriver();
		const held = await driver.acquireConnection();
		const queued = [driver.acquireConnection(), driver.acquireConnection()];

		dialect.refuse();
		for (const wait of queued) await expect(wait).rejects.toBeInstanceOf(DatabaseClosingError);
		await expect(driver.acquireConnection()).rejects.toBeInstanceOf(DatabaseClosingError);

		// The queued waits are still in the inner pool's queue: each grant goes straight back.
		await driver.releaseConnection(held);
		await expect.poll(pool.isFree).toBe(true);
		await dialect.idle(0);
	});
});
