import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresCluster {
	/** Superuser URL of the cluster's `postgres` database. */
	url: string;
	port: number;
	dataDir: string;
	restart(): void;
	/** restart() without blocking this process's event loop (a bench's clients keep reading meanwhile). */
	restartInBackground(): Promise<void>;
	/** Stops the server but keeps its data, for outage tests; startServerOnly() brings it back. */
	stopServerOnly(): void;
	startServerOnly(): void;
	stop(): void;
}

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** Postgres refuses to run as root; tests run as root here, so the cluster runs as another user. */
function clusterUser(): string | undefined {
	if (process.getuid?.() !== 0) return undefined;
	const hasPostgresUser = spawnSync('id', ['-u', 'postgres']).status === 0;
	return hasPostgresUser ? 'postgres' : 'nobody';
}

/** runuser lives in /usr/sbin, which a PATH set for a plain user (or `env -i`) leaves out. */
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'].find((file) => fs.existsSync(file)) ?? 'runuser';

function commandOf(user: string | undefined, command: string, args: string[]): [string, string[]] {
	return user ? [RUNUSER, ['-u', user, '--', command, ...args]] : [command, args];
}

function run(user: string | undefined, command: string, args: string[]) {
	const [file, fileArgs] = commandOf(user, command, args);
	execFileSync(file, fileArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function runInBackground(user: string | undefined, command: string, args: string[]): Promise<void> {
	const [file, fileArgs] = commandOf(user, command, args);
	return new Promise((resolve, reject) =>
		execFile(file, fileArgs, (error, _stdout, stderr) =>
			error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve()
		)
	);
}

/** A throwaway cluster on a free port in a temp folder (under `parent`, e.g. a small volume); stop() removes it. */
export async function startPostgresCluster({
	parent = os.tmpdir()
}: { parent?: string } = {}): Promise<PostgresCluster> {
	const root = fs.mkdtempSync(path.join(parent, 'vapor-pg-'));
	const dataDir = path.join(root, 'data');
	const user = clusterUser();
	if (user) execFileSync('chown', ['-R', user, root]);
	fs.chmodSync(root, 0o755);

	run(user, path.join(PG_BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
	const port = await freePort();
	// Durability settings are off: the cluster lives only as long as the test run.
	const options = [
		`-p ${port}`,
		`-k ${root}`,
		'-c listen_addresses=127.0.0.1',
		'-c fsync=off',
		'-c synchronous_commit=off',
		'-c full_page_writes=off',
		'-c max_connections=300'
	].join(' ');
	const pgCtl = (...args: string[]) => run(user, path.join(PG_BIN, 'pg_ctl'), ['-D', dataDir, '-w', ...args]);
	// With -l the server does not inherit our pipes, which would keep execFileSync waiting forever.
	const logFile = path.join(root, 'postgres.log');
	const start = () => pgCtl('-o', options, '-l', logFile, 'start');
	start();

	let stopped = false;
	return {
		url: `postgres://postgres@127.0.0.1:${port}/postgres`,
		port,
		dataDir,
		restart: () => pgCtl('-m', 'fast', '-o', options, '-l', logFile, 'restart'),
		restartInBackground: () =>
			runInBackground(user, path.join(PG_BIN, 'pg_ctl'), [
				'-D',
				dataDir,
				'-w',
				'-m',
				'fast',
				'-o',
				options,
				'-l',
				logFile,
				'restart'
			]),
		stopServerOnly: () => pgCtl('-m', 'fast', 'stop'),
		startServerOnly: start,
		stop() {
			if (stopped) return;
			stopped = true;
			try {
				pgCtl('-m', 'immediate', 'stop');
			} finally {
				fs.rmSync(root, { recursive: true, force: true });
			}
		}
	};
}

/** The postmaster of a cluster and its children (backends, checkpointer, …), to freeze with SIGSTOP. */
export function postgresProcesses(dataDir: string): number[] {
	const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
	const pids = [postmaster];
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
			const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
			if (parent === postmaster) pids.push(Number(entry));
		} catch {
			// exited meanwhile
		}
	}
	return pids;
}
