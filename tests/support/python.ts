import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PYTHON_CLIENT = path.resolve('clients/python');
const REQUIREMENTS = path.join(PYTHON_CLIENT, 'tests/requirements-integrations.txt');
const INSTALL_TIMEOUT_MS = 1_800_000;

export interface Ran {
	code: number;
	stdout: string;
	stderr: string;
}

export function run(
	command: string,
	args: string[],
	{ env = {}, timeoutMs = 300_000, cwd }: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}
): Promise<Ran> {
	return new Promise((resolve) => {
		execFile(
			command,
			args,
			{
				env: {
					PATH: process.env.PATH ?? '',
					HOME: process.env.HOME ?? os.homedir(),
					PYTHONDONTWRITEBYTECODE: '1',
					...env
				},
				timeout: timeoutMs,
				maxBuffer: 64 * 1024 * 1024,
				cwd
			},
			(error, stdout, stderr) =>
				resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
		);
	});
}

/** A Python process whose output can be awaited line by line (for SIGTERM and outage tests). */
export function startPython(args: string[], env: Record<string, string>) {
	const child = spawn('python3', args, {
		env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.homedir(), PYTHONDONTWRITEBYTECODE: '1', ...env },
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
	const exited = new Promise<number | null>((resolve) =>
		child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)))
	);
	return {
		child,
		exited,
		output: () => ({ stdout, stderr }),
		/** Resolves when stdout matches (the script prints what it has done). */
		waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
			return new Promise((resolve) => {
				waiters.push({ pattern, resolve });
				check();
			});
		}
	};
}

/**
 * A virtual environment with the real frameworks (torch CPU, lightning, transformers, keras,
 * scikit-learn), cached in ~/.cache/vapor by the hash of the requirements file and made from
 * the machine's configured package index. Throws, with pip's own words, when they cannot be
 * installed: a missing framework must fail the tests, never pass them.
 */
export async function frameworksPython(): Promise<string> {
	const hash = createHash('sha1').update(fs.readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
	const root = path.join(
		process.env.VAPOR_PYTHON_CACHE ?? path.join(os.homedir(), '.cache', 'vapor'),
		`python-${hash}`
	);
	const python = path.join(root, 'bin', 'python');
	const ready = path.join(root, '.vapor-ready');
	if (fs.existsSync(ready)) return python;
	fs.mkdirSync(path.dirname(root), { recursive: true });
	// Two test files (or .ci/run's early install and a test) may ask at once: one installs,
	// the others wait for its ready mark. A lock older than the install's own time limit
	// was left by a killed run.
	const lock = `${root}.lock`;
	for (;;) {
		try {
			fs.mkdirSync(lock);
			break;
		} catch {
			if (fs.existsSync(ready)) return python;
			const since = fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
			if (since !== undefined && Date.now() - since > INSTALL_TIMEOUT_MS)
				fs.rmSync(lock, { recursive: true, force: true });
			await new Promise((resolve) => setTimeout(resolve, 1000));
		}
	}
	try {
		if (fs.existsSync(ready)) return python;
		fs.rmSync(root, { recursive: true, force: true });
		const venv = await run('python3', ['-m', 'venv', root]);
		if (venv.code !== 0) throw new Error(`python3 -m venv ${root} failed:\n${venv.stderr}`);
		const pip = await run(python, ['-m', 'pip', 'install', '-q', '--retries', '1', '-r', REQUIREMENTS], {
			timeoutMs: INSTALL_TIMEOUT_MS
		});
		if (pip.code !== 0) {
			throw new Error(
				`Cannot install the frameworks the integration tests need (${REQUIREMENTS}) from the configured package index:\n` +
					pip.stderr.slice(-3000)
			);
		}
		fs.writeFileSync(ready, new Date().toISOString());
		return python;
	} finally {
		fs.rmSync(lock, { recursive: true, force: true });
	}
}
