import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './postgres-cluster';

const BUILD_ENTRY = path.resolve('build/index.js');

/**
 * The API token every test server accepts: stored on start from VAPOR_BOOTSTRAP_TOKEN,
 * exactly as a deployment would seed its first token. Tests that check refusals use others.
 */
export const TEST_TOKEN = 'vpr_test-token-for-the-vapor-test-servers-0000';
export const authorization = (token = TEST_TOKEN) => ({ authorization: `Bearer ${token}` });

/**
 * For the benchmarks, which read without credentials as they did before accounts: they
 * measure streams and exports, not the door. Writes still need the token.
 */
export const BENCH_READS = { VAPOR_PUBLIC_READ: '1' };

/**
 * scrypt at 2^10 instead of 2^15 on test servers: each start hashes the admin's password and
 * most tests sign in, about a CPU second each at the default. passwords.test.ts keeps the default.
 */
export const CHEAP_PASSWORDS = { VAPOR_SCRYPT_COST: '10' };

/**
 * The admin every test server creates at start (VAPOR_ADMIN_USERNAME/PASSWORD); the
 * bootstrap token belongs to it. Tests of other roles add users through Settings.
 */
export const TEST_ADMIN = { username: 'admin', password: 'test-admin-password-0000' };

/**
 * Test servers all listen on 127.0.0.1, and cookies do not tell ports apart: each
 * server gets a session cookie of its own name, so that one browser can be signed in
 * to several (VAPOR_SESSION_COOKIE, meant for two Vapors on one host name).
 */
export const sessionCookieName = (port: number) => `vapor_session_${port}`;

/**
 * Signs in over HTTP, as the sign-in form does, and returns the session cookie
 * (`name=value`) to send as a Cookie header.
 */
export async function signIn(url: string, credentials = TEST_ADMIN): Promise<{ name: string; value: string }> {
	const response = await fetch(`${url}/sign-in`, {
		method: 'POST',
		redirect: 'manual',
		headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
		body: new URLSearchParams({ ...credentials, next: '/training/jobs' })
	});
	const cookie = response.headers
		.getSetCookie()
		.map((header) => header.split(';')[0]!)
		.find((pair) => pair.startsWith('vapor_session'));
	if (response.status !== 303 || !cookie)
		throw new Error(`sign-in as ${credentials.username} failed: ${response.status} ${await response.text()}`);
	const [name, value] = cookie.split('=') as [string, string];
	return { name, value };
}

export interface RunningServer {
	url: string;
	port: number;
	process: ChildProcess;
	/** Everything the server printed, for assertions and for failure messages. */
	output(): string;
	stop(): Promise<void>;
	kill(): Promise<void>;
}

/**
 * Starts the built server (`node build`) as a real process on a free loopback port
 * and waits until it answers /healthz.
 */
export async function startServer(
	env: Record<string, string>,
	{ port }: { port?: number } = {}
): Promise<RunningServer> {
	if (!fs.existsSync(BUILD_ENTRY)) throw new Error('build/ is missing: run `npm run build` before these tests.');
	const chosenPort = port ?? (await freePort());
	const child = spawn(process.execPath, [BUILD_ENTRY], {
		env: {
			PATH: process.env.PATH ?? '',
			HOST: '127.0.0.1',
			PORT: String(chosenPort),
			// No ORIGIN: the built server must work at whatever address it is reached by.
			VAPOR_DEMO: '0',
			VAPOR_BOOTSTRAP_TOKEN: TEST_TOKEN,
			VAPOR_ADMIN_USERNAME: TEST_ADMIN.username,
			VAPOR_ADMIN_PASSWORD: TEST_ADMIN.password,
			VAPOR_SESSION_COOKIE: sessionCookieName(chosenPort),
			...CHEAP_PASSWORDS,
			// As `npm start` and the Dockerfile set it: room for 10,000 points in one request.
			BODY_SIZE_LIMIT: '4M',
			...env
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let output = '';
	child.stdout!.on('data', (chunk) => (output += chunk));
	child.stderr!.on('data', (chunk) => (output += chunk));
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

	const url = `http://127.0.0.1:${chosenPort}`;
	// PGlite's start (WASM, then migrations, then the admin's scrypt hash) takes 5–20 s on a
	// loaded two-core machine, and over a minute when every agent on it is testing at once.
	const deadline = Date.now() + 120_000;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
		try {
			const response = await fetch(`${url}/healthz`);
			if (response.ok) break;
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(`server did not become healthy in 120 s:\n${output}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}

	const end = async (signal: NodeJS.Signals) => {
		if (child.exitCode === null && child.signalCode === null) child.kill(signal);
		await exited;
	};
	return {
		url,
		port: chosenPort,
		process: child,
		output: () => output,
		stop: () => end('SIGTERM'),
		kill: () => end('SIGKILL')
	};
}
