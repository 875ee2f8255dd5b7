import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TS_CLIENT = path.resolve('clients/typescript');

let built: Promise<void> | undefined;

/** Builds the TypeScript client package (tsc → clients/typescript/dist, git-ignored), once per test file. */
export function buildTsClient(): Promise<void> {
	built ??= new Promise((resolve, reject) =>
		execFile(
			path.resolve('node_modules/.bin/tsc'),
			['-p', path.join(TS_CLIENT, 'tsconfig.json')],
			{ timeout: 120_000 },
			(error, stdout, stderr) => (error ? reject(new Error(`tsc failed:\n${stdout}${stderr}`)) : resolve())
		)
	);
	return built;
}

/**
 * A training script as a user would write it: an ES module in a folder of its own that
 * imports the client by its package name (`vapor-client`, through its package.json
 * `exports`), run by Node as its own process. Its stdout can be awaited line by line.
 */
export function startNodeScript(source: string, env: Record<string, string>) {
	const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-ts-script-'));
	fs.mkdirSync(path.join(folder, 'node_modules'));
	fs.symlinkSync(TS_CLIENT, path.join(folder, 'node_modules', 'vapor-client'), 'dir');
	const script = path.join(folder, 'train.mjs');
	fs.writeFileSync(script, source);
	const child = spawn(process.execPath, [script], {
		cwd: folder,
		env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.homedir(), ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let stdout = '';
	let stderr = '';
	const waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
	const check = () => {
		for (const waiter of [...waiters]) {
			const match = stdout.match(waiter.pattern);
			if (match) {
				waiters.splice(waiters.indexOf(waiter), 1);
				waiter.resolve(match);
			}
		}
	};
	child.stdout.on('data', (chunk) => {
		stdout += chunk;
		check();
	});
	child.stderr.on('data', (chunk) => (stderr += chunk));
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
		child.on('exit', (code, signal) => {
			fs.rmSync(folder, { recursive: true, force: true });
			resolve({ code, signal });
		})
	);
	return {
		child,
		exited,
		output: () => ({ stdout, stderr }),
		/** Resolves when stdout matches (the script prints what it has done); rejects if it exits first. */
		waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
			return new Promise((resolve, reject) => {
				waiters.push({ pattern, resolve });
				check();
				void exited.then(({ code, signal }) => {
					if (waiters.some((waiter) => waiter.pattern === pattern))
						reject(
							new Error(
								`script exited (${code ?? signal}) before printing ${pattern}:\n${stdout}\n--- stderr ---\n${stderr}`
							)
						);
				});
			});
		}
	};
}
