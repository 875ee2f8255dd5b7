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
			ORIGIN: `http://127.0.0.1:${chosenPort}`,
			VAPOR_DEMO: '0',
			VAPOR_BOOTSTRAP_TOKEN: TEST_TOKEN,
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
	// PGlite's start (WASM, then migrations) takes 5–20 s on a loaded two-core machine.
	const deadline = Date.now() + 60_000;
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
			throw new Error(`server did not become healthy in 60 s:\n${output}`);
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
