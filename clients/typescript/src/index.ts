/**
 * Report a training run into Vapor without ever slowing or stopping it. fetch only, no
 * dependencies; Node ≥ 20 and browsers.
 *
 *   import { init } from 'vapor-client';
 *
 *   const run = await init({ name: 'digits mlp', config: { lr: 3e-4, batchSize: 64 } });
 *   for (let step = 1; step <= 1000; step++) {
 *     …
 *     run.log({ 'train/loss': loss, lr });
 *   }
 *   await run.finish();
 *
 * log() only checks the values and queues them; a sender on timers posts them in batches
 * every 0.5 s (or 1,000 values), retries with backoff while Vapor is away, and keeps up to
 * 1,000,000 values (100 MB) buffered, then drops the oldest and says so. A bad value throws
 * BadValue at its log() call, naming key and step. When a Node process ends (its event loop
 * drains, SIGTERM, SIGINT or an uncaught exception) the run is finished, flushing for at most
 * flushTimeoutMs; in a browser, `pagehide` sends what is queued as a best effort.
 */
import { installExitHooks } from './exit.js';
import { VaporError } from './http.js';
import { defaultLogger, Run, type Logger, type RunOptions } from './run.js';

export { BadValue, KEY_PATTERN, MAX_KEYS_PER_RUN, MAX_STEP, type NonFinite, type WireValue } from './validate.js';
export { VaporError };
export type { Fetch } from './http.js';
export { Config, Run, MAX_VALUES_PER_REQUEST, type FinishStatus, type Logger, type VaporJob } from './run.js';
export { backoffMs } from './backoff.js';

export interface InitOptions {
	/** The job's name (default VAPOR_NAME, else "typescript run"). */
	name?: string;
	/** Any JSON object: hyperparameters, data version, …; shown and searchable on the job. */
	config?: Record<string, unknown>;
	tags?: string[];
	/** Default VAPOR_URL (Node), else http://localhost:3000. */
	url?: string;
	/** An API token `vpr_…` (default VAPOR_TOKEN on Node). */
	token?: string;
	/** Continue reporting into this existing job (after a restart of the script). */
	id?: string;
	/** When known, gives the job's page its progress and ETA. */
	totalSteps?: number;
	/** The key of the headline chart, stats and toasts (default train/loss; null for the server's). */
	primaryMetric?: string | null;
	/** Throw refusals and dropped values at the next log() or finish() instead of only saying them. */
	strict?: boolean;
	maxBufferedValues?: number;
	maxBufferedBytes?: number;
	/** How long finish() (and the exit hooks) wait for the last values (default VAPOR_FLUSH_TIMEOUT_S or 15 s). */
	flushTimeoutMs?: number;
	/** Send at least this often while values are queued (default 500 ms). */
	batchMs?: number;
	/** …or as soon as this many values are queued (default 1,000). */
	batchValues?: number;
	/** A heartbeat after this long without other contact (default 30 s). */
	heartbeatMs?: number;
	requestTimeoutMs?: number;
	/** Where the client's messages go (default: stderr on Node, the console in a browser). */
	logger?: Logger;
	/** Finish the run when the process ends or the page goes away (default true). */
	exitHooks?: boolean;
	fetch?: RunOptions['fetch'];
}

type Env = Record<string, string | undefined>;
const env = (): Env => (globalThis as { process?: { env?: Env } }).process?.env ?? {};

function envSeconds(name: string): number | undefined {
	const seconds = Number(env()[name]);
	return env()[name] && Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

/** The current run, as wandb and trackio users type it: log(…), finish(). */
export let run: Run | null = null;

/**
 * Starts reporting a run into an external Vapor job (or continues job `id`). A refusal at
 * the start (a wrong token, a bad name) rejects here, before training; if Vapor is
 * unreachable, the job is created in the background once it answers.
 */
export async function init(options: InitOptions = {}): Promise<Run> {
	const url = options.url ?? env().VAPOR_URL ?? 'http://localhost:3000';
	const token = options.token ?? env().VAPOR_TOKEN;
	if (!token)
		throw new VaporError('Vapor needs an API token: pass { token }, or set VAPOR_TOKEN (create one on /settings).');
	const name = (options.name ?? env().VAPOR_NAME ?? 'typescript run').slice(0, 100);
	const created = new Run({
		...options,
		url,
		token,
		name,
		flushTimeoutMs: options.flushTimeoutMs ?? envSeconds('VAPOR_FLUSH_TIMEOUT_S') ?? 15_000
	});
	await created.start();
	if (options.exitHooks !== false) installExitHooks(options.logger ?? defaultLogger);
	run = created;
	return created;
}

function current(): Run {
	if (!run) throw new VaporError('No Vapor run: call init(…) first.');
	return run;
}

/** run.log() on the current run. */
export function log(values: Record<string, number>, step?: number): void {
	current().log(values, step);
}

/** run.finish() on the current run. */
export function finish(status?: 'completed' | 'failed', error?: string): Promise<boolean> {
	return current().finish(status, error);
}

/** run.fail() on the current run. */
export function fail(reason: string): Promise<boolean> {
	return current().fail(reason);
}
