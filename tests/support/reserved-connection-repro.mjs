// The upstream reproduction of porsager/postgres#1208, run in a process of its own so that
// the crash the patch prevents (an uncaughtException) shows as this process dying.
// Usage: node reserved-connection-repro.mjs POSTGRES_URL. Prints one JSON line of results.
import { Kysely, sql as kyselySql } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';

const url = process.argv[2];
const outcome = (promise) =>
	promise.then(
		() => 'ok',
		(error) => error.code ?? error.message
	);

/** A client whose next connection close can be awaited (postgres.js calls `onclose` with the connection's id). */
function client() {
	let closed = () => {};
	const sql = postgres(url, { max: 2, onnotice: () => {}, onclose: () => closed() });
	const nextClose = () => new Promise((resolve) => (closed = resolve));
	return { sql, nextClose };
}

const killer = postgres(url, { max: 1, onnotice: () => {} });
/** Terminates the backend and waits until the client has seen its connection close. */
async function terminate(pid, nextClose) {
	const seen = nextClose();
	await killer`select pg_terminate_backend(${pid})`;
	await seen;
}

// postgres.js alone, as in the issue.
const raw = client();
const reserved = await raw.sql.reserve();
const [{ pid }] = await reserved`select pg_backend_pid() as pid`;
await terminate(pid, raw.nextClose);
const firstAfterKill = await outcome(reserved`select 1`);
const secondAfterKill = await outcome(reserved`select 1`);
reserved.release();
const [{ answer: poolAfterRelease }] = await raw.sql`select 42 as answer`;

// The same through Kysely, which reserves a connection for every query (as Vapor's db does).
const viaKysely = client();
const db = new Kysely({ dialect: new PostgresJSDialect({ postgres: viaKysely.sql }) });
const kyselyOnKilled = await db.connection().execute(async (connection) => {
	const { rows } = await kyselySql`select pg_backend_pid() as pid`.execute(connection);
	await terminate(rows[0].pid, viaKysely.nextClose);
	const first = await outcome(kyselySql`select 1`.execute(connection));
	return [first, await outcome(kyselySql`select 1`.execute(connection))];
});
const { rows: later } = await kyselySql`select 7 as answer`.execute(db);

console.log(
	JSON.stringify({ firstAfterKill, secondAfterKill, poolAfterRelease, kyselyOnKilled, kyselyAfter: later[0].answer })
);
// As Vapor's close() does: end() with a timeout first (it would wait for ever on a
// connection that was reserved when it closed), then Kysely's destroy().
await Promise.all([raw.sql.end({ timeout: 5 }), viaKysely.sql.end({ timeout: 5 }), killer.end({ timeout: 5 })]);
await db.destroy();
