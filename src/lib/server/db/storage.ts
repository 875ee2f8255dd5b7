import fs from 'node:fs';
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { HttpError } from '../errors';

/** PostgreSQL's SQLSTATE disk_full: a data file could not be extended. */
const DISK_FULL = '53100';
/** How long a disk-full answer from PostgreSQL is reported by /healthz unless a write gets through first. */
const REPORTED_FOR_MS = 60_000;
/** statfs is cheap, but a tick of 1,000 jobs and a burst of ingest need not ask it each time. */
const STATFS_EVERY_MS = 100;

/** A write refused because the disk cannot hold it: 507 Insufficient Storage, with the cause. */
export class DiskFullError extends HttpError {
	readonly code = 'VAPOR_DISK_FULL';
	constructor(message: string, options?: ErrorOptions) {
		super(507, message);
		if (options?.cause !== undefined) this.cause = options.cause;
	}
}

export interface StorageOptions {
	/** The embedded database's folder, whose file system is watched; undefined on PostgreSQL or in memory. */
	dataDir: string | undefined;
	/** Writes are refused while less than this is free there. */
	reserveBytes: number;
	statfs?: (dir: string) => { bavail: number; bsize: number };
	now?: () => number;
}

const mb = (bytes: number) => `${Math.floor(bytes / 1024 ** 2)} MB`;

/**
 * Whether the database's disk can take a write, and what /healthz says about it.
 *
 * On the embedded database it is decided before the write: PGlite (Postgres in
 * WebAssembly, single-user mode) does not survive running out of space inside a
 * transaction. Its error handling loops inside the WebAssembly call, so the event loop
 * never runs again: no request is answered, not even /healthz or a static file, and
 * SIGTERM's handler never runs. A new WAL segment takes 16 MB at once, so the reserve
 * must be well above that. On PostgreSQL the server refuses the write itself
 * (SQLSTATE 53100) and stays up; that answer is remembered for /healthz.
 */
export class Storage {
	readonly #options: Required<Omit<StorageOptions, 'dataDir'>> & { dataDir: string | undefined };
	#checkedAt = -Infinity;
	#freeBytes = Infinity;
	#databaseFullAt: number | undefined;

	constructor(options: StorageOptions) {
		this.#options = {
			statfs: (dir) => fs.statfsSync(dir),
			now: () => performance.now(),
			...options
		};
	}

	/** Free bytes on the data folder's file system (Infinity when there is none to watch). */
	freeBytes(): number {
		const { dataDir, statfs, now } = this.#options;
		if (!dataDir) return Infinity;
		if (now() - this.#checkedAt >= STATFS_EVERY_MS) {
			try {
				const stats = statfs(dataDir);
				this.#freeBytes = stats.bavail * stats.bsize;
			} catch {
				// A folder that cannot be asked is not a reason to refuse writes.
				this.#freeBytes = Infinity;
			}
			this.#checkedAt = now();
		}
		return this.#freeBytes;
	}

	/** Throws DiskFullError when a write must not be tried. */
	assertRoomForWrite(): void {
		const free = this.freeBytes();
		const { reserveBytes, dataDir } = this.#options;
		if (free < reserveBytes) {
			throw new DiskFullError(
				`The server's disk is full: ${mb(free)} free where the embedded database lives (${dataDir}), and ` +
					`Vapor keeps ${mb(reserveBytes)} free (VAPOR_DISK_RESERVE_MB). Nothing was stored; free some space ` +
					'and send it again.'
			);
		}
	}

	/** Called with each statement's outcome: remembers PostgreSQL's disk-full answers until a write succeeds. */
	observe(write: boolean, error?: unknown): void {
		if (error === undefined) {
			if (write) this.#databaseFullAt = undefined;
		} else if (isDiskFull(error)) {
			this.#databaseFullAt = this.#options.now();
		}
	}

	/** Why writes fail right now, for /healthz; undefined when they do not. */
	problem(): string | undefined {
		try {
			this.assertRoomForWrite();
		} catch (error) {
			return (error as Error).message;
		}
		const at = this.#databaseFullAt;
		if (at !== undefined && this.#options.now() - at < REPORTED_FOR_MS)
			return "The database's disk is full: PostgreSQL refused the last write for lack of space.";
		return undefined;
	}
}

export function isDiskFull(error: unknown): boolean {
	const code = (error as { code?: string } | null)?.code;
	return code === DISK_FULL || code === 'VAPOR_DISK_FULL';
}

/**
 * True for statements that only read. Anything else (inserts, updates, DDL, row locks,
 * raw statements that are not a plain select) counts as a write: a read wrongly counted
 * is refused on a full disk, a write wrongly let through could wedge PGlite.
 */
export function isReadOnly(sql: string): boolean {
	if (!/^\s*(select|with)\b/i.test(sql)) return false;
	return !/\b(insert|update|delete|merge|into|nextval|setval)\b|\bfor\s+(update|share|no\s+key|key\s+share)\b/i.test(
		sql
	);
}

/**
 * A dialect whose connections ask `storage` before every write and tell it each
 * statement's outcome. Transactions run on the inner driver's own connection object.
 */
export function withStorageGuard(dialect: Dialect, storage: Storage, guardWrites: boolean): Dialect {
	return {
		createAdapter: () => dialect.createAdapter(),
		createIntrospector: (db) => dialect.createIntrospector(db),
		createQueryCompiler: () => dialect.createQueryCompiler(),
		createDriver: () => new GuardedDriver(dialect.createDriver(), storage, guardWrites)
	};
}

class GuardedConnection implements DatabaseConnection {
	constructor(
		readonly inner: DatabaseConnection,
		private readonly storage: Storage,
		private readonly guardWrites: boolean
	) {}

	async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
		const write = !isReadOnly(query.sql);
		if (write && this.guardWrites) this.storage.assertRoomForWrite();
		try {
			const result = await this.inner.executeQuery<R>(query);
			this.storage.observe(write);
			return result;
		} catch (error) {
			this.storage.observe(write, error);
			// As an HttpError, every caller (API, form action, page) answers 507 with the cause.
			if ((error as { code?: string } | null)?.code === DISK_FULL)
				throw new DiskFullError(
					`The database's disk is full: PostgreSQL could not store this (${(error as Error).message}). ` +
						'Nothing was stored; free space on the database server and send it again.',
					{ cause: error }
				);
			throw error;
		}
	}

	streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
		return this.inner.streamQuery<R>(query, chunkSize);
	}
}

class GuardedDriver implements Driver {
	constructor(
		private readonly inner: Driver,
		private readonly storage: Storage,
		private readonly guardWrites: boolean
	) {}

	init() {
		return this.inner.init();
	}
	async acquireConnection(options?: Parameters<Driver['acquireConnection']>[0]): Promise<DatabaseConnection> {
		return new GuardedConnection(await this.inner.acquireConnection(options), this.storage, this.guardWrites);
	}
	releaseConnection(connection: DatabaseConnection) {
		return this.inner.releaseConnection((connection as GuardedConnection).inner);
	}
	beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
		return this.inner.beginTransaction((connection as GuardedConnection).inner, settings);
	}
	commitTransaction(connection: DatabaseConnection) {
		return this.inner.commitTransaction((connection as GuardedConnection).inner);
	}
	rollbackTransaction(connection: DatabaseConnection) {
		return this.inner.rollbackTransaction((connection as GuardedConnection).inner);
	}
	destroy() {
		return this.inner.destroy();
	}
}
