import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Database } from './database';
import { DatabaseTimeoutError, withDeadlines, type Deadlines } from './deadlines';
import { ConnectionLender, SerializedPGliteDialect, type Priority } from './serialized-pglite-dialect';
import { Storage, withStorageGuard } from './storage';

export type Db = Kysely<Database>;

export type DatabaseTarget =
	| { kind: 'postgres'; url: string }
	/** `dataDir` undefined means an in-memory database (tests). */
	| { kind: 'pglite'; dataDir: string | undefined };

export interface DatabaseHandle {
	/** For requests. */
	db: Db;
	/**
	 * For the work that must go on whatever the request load: the simulator's ticks, the
	 * lease loop and the relay's reads. Its own small pool on Postgres; on PGlite (one
	 * connection) it is served before any request that waits.
	 */
	background: Db;
	target: DatabaseTarget;
	/** The postgres.js client of the background pool, for LISTEN/NOTIFY; undefined on PGlite. */
	postgres: postgres.Sql | undefined;
	/** Whether the disk takes writes (refused ahead of time on PGlite): what /healthz reports. */
	storage: Storage;
	/** One round trip that bypasses the request pool: what /healthz asks. */
	ping(timeoutMs: number): Promise<void>;
	close(): Promise<void>;
}

export interface DatabaseOptions {
	/** The longest a request waits for a connection, or for one statement's answer. */
	requestTimeoutMs: number;
	/** On the embedded database, writes are refused while less than this is free on its disk. */
	diskReserveBytes: number;
}

const DEFAULT_OPTIONS: DatabaseOptions = { requestTimeoutMs: 5_000, diskReserveBytes: 64 * 1024 ** 2 };
const REQUEST_POOL = 10;
/** A tick and a lease round run one after the other; the relay reads one message at a time. */
const BACKGROUND_POOL = 3;
/** Background statements may be large (a tick of 1,000 jobs on a busy machine); still bounded. */
const BACKGROUND_TIMEOUT_MS = 15_000;
/**
 * Seconds between reconnect attempts after a failed one. postgres.js waits about
 * 3^attempts / 100 s (up to 20 s), so after a 4 s outage its next try came ~7-16 s after
 * the database was back; the relay's LISTEN connection inherits this client's options,
 * and live points of other instances' jobs stall until it is back. A try every 250 ms
 * while the database is away costs nothing worth counting.
 */
const RECONNECT_BACKOFF_S = (attempts: number) => Math.min(0.05 * 2 ** attempts, 0.25);
/**
 * Closing waits this long for statements in flight, then this long for the goodbye to the
 * server. Short: by then the simulator has released its leases and the HTTP server has
 * closed, so what is still in flight belongs to requests whose connections were cut (their
 * clients retry; an unfinished transaction is rolled back).
 */
const CLOSE_IDLE_MS = 250;
const CLOSE_END_S = 0.25;

export function databaseTarget(config: { databaseUrl?: string; dataDir: string }): DatabaseTarget {
	return config.databaseUrl
		? { kind: 'postgres', url: config.databaseUrl }
		: { kind: 'pglite', dataDir: path.join(config.dataDir, 'pglite') };
}

export function openDatabase(target: DatabaseTarget, given: Partial<DatabaseOptions> = {}): DatabaseHandle {
	const options = { ...DEFAULT_OPTIONS, ...given };
	const requestDeadlines = {
		name: 'requests',
		acquireMs: options.requestTimeoutMs,
		queryMs: options.requestTimeoutMs
	};
	const backgroundDeadlines = {
		name: 'background',
		acquireMs: BACKGROUND_TIMEOUT_MS,
		queryMs: BACKGROUND_TIMEOUT_MS
	};
	const storage = new Storage({
		dataDir: target.kind === 'pglite' ? target.dataDir : undefined,
		reserveBytes: options.diskReserveBytes
	});
	if (target.kind === 'postgres') {
		const client = (name: string, max: number) =>
			postgres(target.url, {
				max,
				backoff: RECONNECT_BACKOFF_S,
				// A database that accepts the TCP connection but never answers (frozen) fails fast.
				connect_timeout: Math.max(1, Math.ceil(options.requestTimeoutMs / 2_000)),
				// Postgres sends notices for harmless things (e.g. "relation exists, skipping").
				onnotice: () => {},
				connection: { application_name: name }
			});
		const requestClient = client('vapor', REQUEST_POOL);
		const backgroundClient = client('vapor-background', BACKGROUND_POOL);
		const healthClient = client('vapor-health', 1);
		// PostgreSQL refuses a write on a full disk itself; the guard only listens for it.
		const dialect = (sql: postgres.Sql, deadlines: Deadlines) =>
			withDeadlines(withStorageGuard(new PostgresJSDialect({ postgres: sql }), storage, false), deadlines);
		const requestDialect = dialect(requestClient, requestDeadlines);
		const backgroundDialect = dialect(backgroundClient, backgroundDeadlines);
		const db = new Kysely<Database>({ dialect: requestDialect });
		const background = new Kysely<Database>({ dialect: backgroundDialect });
		const close = async () => {
			requestDialect.refuse();
			backgroundDialect.refuse();
			// postgres.js never resolves end() for a connection that is reserved when end()
			// is called (kysely-postgres-js reserves one per statement) until its timeout:
			// let the statements in flight finish first, briefly.
			await Promise.all([requestDialect.idle(CLOSE_IDLE_MS), backgroundDialect.idle(CLOSE_IDLE_MS)]);
			await Promise.all(
				[requestClient, backgroundClient, healthClient].map((sql) => sql.end({ timeout: CLOSE_END_S }))
			);
			await Promise.all([db.destroy(), background.destroy()]);
		};
		const ping = (timeoutMs: number) =>
			bounded(
				healthClient`select 1`.then(() => undefined),
				timeoutMs
			);
		return { db, background, target, postgres: backgroundClient, storage, ping, close };
	}

	const releaseLock = target.dataDir ? lockDataDir(target.dataDir) : () => {};
	const pglite = new PGlite(target.dataDir);
	const lender = new ConnectionLender();
	const dialect = (priority: Priority, deadlines: Deadlines) =>
		withDeadlines(
			withStorageGuard(new SerializedPGliteDialect({ pglite, lender, priority }), storage, true),
			deadlines
		);
	const requestDialect = dialect('request', requestDeadlines);
	const backgroundDialect = dialect('background', backgroundDeadlines);
	const db = new Kysely<Database>({ dialect: requestDialect });
	const background = new Kysely<Database>({ dialect: backgroundDialect });
	return {
		db,
		background,
		target,
		postgres: undefined,
		storage,
		// PGlite has no pool to bypass: ahead of the requests that wait, like the simulator.
		ping: (timeoutMs) =>
			bounded(
				sql`select 1`.execute(background).then(() => undefined),
				timeoutMs
			),
		close: async () => {
			requestDialect.refuse();
			backgroundDialect.refuse();
			await Promise.all([db.destroy(), background.destroy()]);
			if (!pglite.closed) await pglite.close();
			releaseLock();
		}
	};
}

function bounded(work: Promise<void>, ms: number): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new DatabaseTimeoutError(`no answer within ${ms} ms`)), ms);
	});
	return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/**
 * PGlite is a database inside this process: a second process opening the same folder
 * would corrupt it. A lock file with our pid turns that into a clear error; a lock
 * left by a process that died (SIGKILL) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
	fs.mkdirSync(dataDir, { recursive: true });
	const lockFile = `${dataDir}.lock`;
	try {
		const holder = Number(fs.readFileSync(lockFile, 'utf8'));
		if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
			throw new Error(
				`Another Vapor process (pid ${holder}) is using the embedded database in ${dataDir}. ` +
					`Stop it first, or set VAPOR_DATA_DIR to another folder. (If no Vapor process is running, delete ${lockFile}.)`
			);
		}
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
	}
	fs.writeFileSync(lockFile, String(process.pid));
	return () => fs.rmSync(lockFile, { force: true });
}

/** Describes the target for logs without leaking a password. */
export function describeTarget(target: DatabaseTarget): string {
	if (target.kind === 'pglite') return `embedded PGlite (${target.dataDir ?? 'in memory'})`;
	const url = new URL(target.url);
	url.password = url.password ? '***' : '';
	return `PostgreSQL ${url.toString()}`;
}
