// porsager/postgres#1192/#1205: on every new connection postgres.js first fetches the
// array types (fetch_types), and drops that query's promise. A connection that breaks at
// that moment (a PostgreSQL restart, a reset) rejected it with nobody waiting: an
// unhandled rejection, which kills a Node process. That is the ECONNRESET that once
// crashed a Vapor instance in the chaos soak right after a PostgreSQL restart.
// Run in a process of its own (no unhandledRejection handler), so the crash shows as this
// process dying. A TCP proxy in front of PostgreSQL resets the first connection when the
// array-type query passes, exactly when a restart's fast shutdown can land.
// Usage: node type-fetch-repro.mjs POSTGRES_URL. Prints one JSON line of results.
import net from 'node:net';
import postgres from 'postgres';

const target = new URL(process.argv[2]);
let resets = 0;
const proxy = net.createServer((client) => {
	const server = net.connect(Number(target.port), target.hostname);
	client.on('data', (chunk) => {
		if (resets === 0 && chunk.includes('typarray')) {
			resets++;
			server.destroy();
			client.resetAndDestroy();
			return;
		}
		server.write(chunk);
	});
	server.on('data', (chunk) => client.write(chunk));
	for (const [socket, other] of [
		[client, server],
		[server, client]
	]) {
		socket.on('error', () => other.destroy());
		socket.on('close', () => other.destroy());
	}
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const url = new URL(target);
url.port = String(proxy.address().port);

const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
const outcome = { resets: 0 };
try {
	await sql`select 1 as one`;
	outcome.first = 'ok';
} catch (error) {
	outcome.first = error.code ?? error.message;
}
// A round trip on a new connection: an unhandled rejection of the first would surface meanwhile.
outcome.after = (await sql`select 42 as x`)[0].x;
outcome.resets = resets;
await sql.end({ timeout: 1 });
proxy.close();
console.log(JSON.stringify(outcome));
