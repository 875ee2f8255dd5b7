/**
 * npm run bench [-- write|stream|monitor|metrics|export|ingest|soak|runs|lease|chaos]: runs the suites (all without an argument),
 * prints their figures and writes each suite's JSON to bench/results/<suite>.json.
 * With --smoke (CI): each suite end to end in seconds with tiny sizes; no figures written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { envNumber, machine, MachineMeter, round, runAbortCleanups, sleep, SMOKE } from './lib/measure';
import { runWriteSuite } from './write';
import { runStreamSuite } from './stream';
import { runMonitorSuite } from './monitor';
import { runMetricsSuite } from './metrics';
import { runExportSuite } from './export';
import { runIngestSuite } from './ingest';
import { runSoakSuite } from './soak';
import { runRunsSuite } from './runs';
import { runLeaseSuite } from './lease';
import { runChaosSuite } from './chaos';

const SUITES: Record<string, () => Promise<unknown>> = {
	write: runWriteSuite,
	stream: runStreamSuite,
	monitor: runMonitorSuite,
	metrics: runMetricsSuite,
	export: runExportSuite,
	ingest: runIngestSuite,
	soak: runSoakSuite,
	runs: runRunsSuite,
	lease: runLeaseSuite,
	chaos: runChaosSuite
};

/** The commit measured, and how many files under src/ differ from it (others may be editing). */
function gitState() {
	const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
	try {
		return {
			head: git('rev-parse', '--short', 'HEAD'),
			uncommittedSrcFiles: git('status', '--porcelain', '--', 'src', 'migrations').split('\n').filter(Boolean).length
		};
	} catch {
		return undefined;
	}
}

const QUIET_PERCENT = 50; // of 200 on two cores
/**
 * Figures taken while other work loads the machine are not comparable: wait (bounded)
 * until the machine is mostly idle, and record how busy it was either way.
 */
async function waitForQuiet(): Promise<{ busyPercent: number; waitedSeconds: number }> {
	const maxWaitMs = envNumber('BENCH_QUIET_WAIT_S', 30) * 1000;
	const started = Date.now();
	for (;;) {
		const meter = new MachineMeter();
		meter.start();
		await sleep(2_000);
		const busyPercent = round(meter.stop());
		const waitedSeconds = Math.round((Date.now() - started) / 1000);
		if (busyPercent < QUIET_PERCENT || Date.now() - started >= maxWaitMs) {
			if (busyPercent >= QUIET_PERCENT)
				console.log(
					`machine still busy (${busyPercent} % CPU of ${machine().cpus * 100} %) after ${waitedSeconds} s: ` +
						'measuring anyway; figures will be low.'
				);
			return { busyPercent, waitedSeconds };
		}
		if (waitedSeconds === 0)
			console.log(
				`machine busy (${busyPercent} % CPU of ${machine().cpus * 100} %): waiting up to ${maxWaitMs / 1000} s for it to quieten …`
			);
	}
}

async function main() {
	const requested = process.argv.slice(2).filter((arg) => arg !== '--' && arg !== '--smoke');
	const unknown = requested.filter((name) => !(name in SUITES));
	if (unknown.length > 0) {
		console.error(`Unknown suite "${unknown[0]}". Suites: ${Object.keys(SUITES).join(', ')} (none = all).`);
		process.exit(2);
	}
	const names = requested.length > 0 ? requested : Object.keys(SUITES);
	if (SMOKE && names.length > 1) return smokeSideBySide(names);
	const resultsDir = path.resolve('bench/results');
	fs.mkdirSync(resultsDir, { recursive: true });
	for (const name of names) {
		console.log(`\n=== ${name}${SMOKE ? ' (smoke: tiny sizes, no figures written)' : ''} ===`);
		if (SMOKE) {
			const started = performance.now();
			await SUITES[name]!();
			console.log(`\n${name}: smoke run passed in ${round((performance.now() - started) / 1000)} s`);
			continue;
		}
		const quietBefore = await waitForQuiet();
		const startedAt = new Date();
		console.log(`${startedAt.toISOString()}: machine ${quietBefore.busyPercent} % busy before the suite`);
		const figures = await SUITES[name]!();
		const file = path.join(resultsDir, `${name}.json`);
		const report = {
			suite: name,
			command: `npm run bench -- ${name}`,
			startedAt: startedAt.toISOString(),
			durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
			machine: machine(),
			machineBusyBefore: quietBefore,
			git: gitState(),
			...(figures as object)
		};
		fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
		console.log(`\n${name}: wrote ${path.relative(process.cwd(), file)}`);
	}
}

const SMOKE_JOBS = envNumber('BENCH_SMOKE_JOBS', 3);

/** Smoke runs in progress, each a process of its own: a signal to the bench is passed on to them. */
const smokeChildren = new Set<ChildProcess>();

/**
 * The smoke runs of several suites, a few at a time, each in a process of its own whose output
 * is printed whole when it ends. Parts of each run wait (servers starting, the fixed stages of
 * the soak, lease and chaos runs) while others use the CPU: side by side, 120 s became 105 s.
 */
async function smokeSideBySide(names: string[]): Promise<void> {
	const tsx = path.resolve('node_modules/.bin/tsx');
	const failed: string[] = [];
	// The monitor's smoke run (Chromium) is the longest: started first, it does not finish alone.
	const queue = [...names].sort((a, b) => Number(b === 'monitor') - Number(a === 'monitor'));
	const runOne = (name: string) =>
		new Promise<void>((resolve) => {
			const started = performance.now();
			const child = spawn(tsx, [process.argv[1]!, '--smoke', name], { stdio: ['ignore', 'pipe', 'pipe'] });
			smokeChildren.add(child);
			const output: Buffer[] = [];
			child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
			child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
			child.once('close', (code, signal) => {
				smokeChildren.delete(child);
				process.stdout.write(Buffer.concat(output));
				const seconds = round((performance.now() - started) / 1000);
				if (code !== 0) {
					failed.push(name);
					console.log(`\n${name}: smoke run FAILED (${signal ?? `exit ${code}`}) after ${seconds} s`);
				}
				resolve();
			});
		});
	const worker = async () => {
		for (let name = queue.shift(); name; name = queue.shift()) await runOne(name);
	};
	await Promise.all(Array.from({ length: Math.min(SMOKE_JOBS, names.length) }, worker));
	if (failed.length > 0) throw new Error(`smoke runs failed: ${failed.join(', ')}`);
}

// A killed bench still stops its servers and removes its clusters.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
	process.once(signal, () => {
		console.error(`\n${signal}: stopping servers and clusters …`);
		for (const child of smokeChildren) child.kill(signal);
		void runAbortCleanups().finally(() => process.exit(130));
	});
}

main().then(
	() => process.exit(0),
	(error) => {
		console.error(error);
		process.exit(1);
	}
);
