import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The p-th percentile (0–100) of the values, by nearest rank; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
	if (sorted.length === 0) return Number.NaN;
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Summary {
	count: number;
	p50: number;
	p99: number;
	max: number;
	mean: number;
}

export function summarize(values: readonly number[]): Summary {
	const sorted = Float64Array.from(values).sort();
	const list = Array.from(sorted);
	let sum = 0;
	for (const value of list) sum += value;
	return {
		count: list.length,
		p50: percentile(list, 50),
		p99: percentile(list, 99),
		max: list.length ? list[list.length - 1]! : Number.NaN,
		mean: list.length ? sum / list.length : Number.NaN
	};
}

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux

/** utime + stime of a process in seconds, from /proc/<pid>/stat; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		// The command name may contain spaces: fields start after the last ')'.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
	} catch {
		return undefined;
	}
}

/** VmRSS and VmHWM (peak) of a process in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
	const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
	return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The postmaster of a cluster and all its backends and workers. */
export function postgresPids(dataDir: string): number[] {
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

/**
 * CPU used by a set of processes over a window, in % of one core. Processes that exit
 * during the window are counted up to their last reading (postgres backends come and go).
 */
export class CpuMeter {
	#start = new Map<number, number>();
	#last = new Map<number, number>();
	#startedAt = 0;
	#timer: NodeJS.Timeout | undefined;

	constructor(private readonly pids: () => number[]) {}

	start(): void {
		this.#startedAt = performance.now();
		this.#start.clear();
		this.#last.clear();
		for (const pid of this.pids()) {
			const value = cpuSeconds(pid);
			if (value !== undefined) this.#start.set(pid, value);
		}
		clearInterval(this.#timer);
		this.#timer = setInterval(() => this.sample(), 250);
		this.#timer.unref();
	}

	/**
	 * Runs every 250 ms, so that processes that exit are still counted. A process first
	 * seen after start() was born in the window: all its CPU time counts.
	 */
	sample(): void {
		for (const pid of this.pids()) {
			const value = cpuSeconds(pid);
			if (value === undefined) continue;
			this.#last.set(pid, value);
			if (!this.#start.has(pid)) this.#start.set(pid, 0);
		}
	}

	/** % of one core since start(). */
	stop(): number {
		clearInterval(this.#timer);
		this.sample();
		const seconds = (performance.now() - this.#startedAt) / 1000;
		let used = 0;
		for (const [pid, last] of this.#last) used += last - this.#start.get(pid)!;
		return (100 * used) / seconds;
	}
}

export function machine() {
	return {
		cpus: os.cpus().length,
		cpuModel: os.cpus()[0]?.model ?? 'unknown',
		memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
		node: process.version,
		platform: `${os.type()} ${os.release()}`
	};
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function round(value: number, digits = 1): number {
	const factor = 10 ** digits;
	return Math.round(value * factor) / factor;
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Record<string, string | number>[]): void {
	if (rows.length === 0) return;
	const columns = Object.keys(rows[0]!);
	const cells = rows.map((row) => columns.map((column) => String(row[column] ?? '')));
	const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((cell) => cell[i]!.length)));
	// Numbers right-aligned, text left-aligned.
	const numeric = columns.map((_, i) => cells.every((cell) => cell[i] === '' || !Number.isNaN(Number(cell[i]))));
	const line = (values: string[]) =>
		values.map((value, i) => (numeric[i] ? value.padStart(widths[i]!) : value.padEnd(widths[i]!))).join('  ');
	console.log(line(columns));
	for (const cell of cells) console.log(line(cell));
}

/** CPU time of the whole machine, in seconds of one core, from /proc/stat (all cores summed). */
function machineBusySeconds(): number {
	const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
	// user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
	const busy = fields.reduce((sum, value, i) => (i === 3 || i === 4 ? sum : sum + value), 0);
	return busy / CLOCK_TICKS;
}

/** Busy CPU of the whole machine over a window, in % of one core (200 % = both cores of two). */
export class MachineMeter {
	#start = 0;
	#startedAt = 0;
	start(): void {
		this.#start = machineBusySeconds();
		this.#startedAt = performance.now();
	}
	stop(): number {
		return (100 * (machineBusySeconds() - this.#start)) / ((performance.now() - this.#startedAt) / 1000);
	}
}

/** Per-call CPU of this process, in % of one core over a window. */
export class SelfMeter {
	#start = process.cpuUsage();
	#startedAt = performance.now();
	start(): void {
		this.#start = process.cpuUsage();
		this.#startedAt = performance.now();
	}
	stop(): number {
		const used = process.cpuUsage(this.#start);
		return (100 * (used.user + used.system)) / 1e3 / (performance.now() - this.#startedAt);
	}
}

/**
 * `npm run bench -- --smoke`: every suite end to end with tiny sizes and windows, in
 * seconds, writing no figures. CI runs it so that no suite can rot unnoticed.
 */
export const SMOKE = process.argv.includes('--smoke') || process.env.BENCH_SMOKE === '1';

/**
 * A whole number from the environment, for shorter runs while developing the bench;
 * else `smoke` in a smoke run, else `fallback`.
 */
export function envNumber(name: string, fallback: number, smoke = fallback): number {
	const raw = process.env[name];
	if (raw && /^\d+$/.test(raw)) return Number(raw);
	return SMOKE ? smoke : fallback;
}

/** A comma-separated list of whole numbers from the environment, like envNumber. */
export function envNumbers(name: string, fallback: number[], smoke = fallback): number[] {
	const raw = process.env[name];
	if (raw && /^\d+(,\d+)*$/.test(raw)) return raw.split(',').map(Number);
	return SMOKE ? smoke : fallback;
}

/** A constant of a suite: `smoke` in a smoke run. */
export const smokeOr = <T>(value: T, smoke: T): T => (SMOKE ? smoke : value);

const cleanups = new Set<() => unknown>();

/**
 * Registers what must not outlive the bench (a cluster, a server); returns the
 * unregister function. run.ts calls them all on Ctrl-C or a kill.
 */
export function onAbort(cleanup: () => unknown): () => void {
	cleanups.add(cleanup);
	return () => cleanups.delete(cleanup);
}

export async function runAbortCleanups(): Promise<void> {
	for (const cleanup of [...cleanups].reverse()) {
		try {
			await cleanup();
		} catch {
			// best effort: the process is exiting
		}
	}
	cleanups.clear();
}
