/** A run: log() queues, a sender on timers sends. Nothing here awaits the network in the caller. */
import { backoffMs } from './backoff.js';
import { request, VaporError, type Fetch } from './http.js';
import { halves, RowQueue, valuesIn, wireBatch, type Row } from './queue.js';
import { BadValue, checkKey, checkStep, MAX_KEYS_PER_RUN, toWire, type WireValue } from './validate.js';

/** Vapor takes at most 10,000 values per request; a catch-up after an outage sends big batches. */
export const MAX_VALUES_PER_REQUEST = 5_000;

/** Where the client's few messages go (console by default). */
export interface Logger {
	info(message: string): void;
	warn(message: string): void;
	error(message: string): void;
}

export interface VaporJob {
	id: string;
	name: string;
	status: 'queued' | 'running' | 'completed' | 'failed' | 'stopped';
	currentStep: number;
	config?: Record<string, unknown>;
	tags?: string[];
	error: string | null;
	[field: string]: unknown;
}

export type FinishStatus = 'completed' | 'failed';

export interface RunOptions {
	url: string;
	token: string;
	name: string;
	config?: Record<string, unknown>;
	tags?: string[];
	id?: string;
	totalSteps?: number;
	primaryMetric?: string | null;
	strict?: boolean;
	maxBufferedValues?: number;
	maxBufferedBytes?: number;
	flushTimeoutMs?: number;
	batchMs?: number;
	batchValues?: number;
	heartbeatMs?: number;
	requestTimeoutMs?: number;
	logger?: Logger;
	fetch?: Fetch;
}

/** Config values as JSON can hold them (a bigint or a Date as its text). */
function plain(value: Record<string, unknown>): Record<string, unknown> {
	return JSON.parse(JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? String(item) : item)) ?? '{}');
}

/** The run's config; update() also sends the new keys to Vapor (merged there: a set key never changes). */
export class Config {
	#values: Record<string, unknown>;

	constructor(
		private readonly onChange: (change: Record<string, unknown>) => void,
		initial: Record<string, unknown> = {}
	) {
		this.#values = plain(initial);
	}

	get values(): Readonly<Record<string, unknown>> {
		return this.#values;
	}

	get(key: string): unknown {
		return this.#values[key];
	}

	update(change: Record<string, unknown>): void {
		const values = plain(change);
		this.#values = { ...this.#values, ...values };
		this.onChange(values);
	}

	toJSON(): Record<string, unknown> {
		return this.#values;
	}
}

const now = () => performance.now();

/**
 * Node: every message to stderr, as the Python client's logging does (a script's stdout is
 * often its results); a browser: the console at the message's level.
 */
const inNode =
	typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
export const defaultLogger: Logger = {
	info: (message) => (inNode ? console.error(message) : console.info(message)),
	warn: (message) => (inNode ? console.error(message) : console.warn(message)),
	error: (message) => console.error(message)
};

/** Node's timers keep a process alive; a sender's must not (the exit hooks flush instead). */
function unref(timer: ReturnType<typeof setTimeout>) {
	(timer as { unref?: () => void }).unref?.();
	return timer;
}

/** One Vapor job reported by this process. Make one with init(). */
export class Run {
	readonly url: string;
	readonly name: string;
	readonly tags: string[];
	readonly strict: boolean;
	readonly config: Config;
	readonly flushTimeoutMs: number;
	id: string | null;
	job: VaporJob | null = null;

	/** What happened, for the person reading the log and for tests. */
	sentValues = 0;
	droppedValues = 0;
	refusedValues = 0;
	requests = 0;
	/** Failed attempts in a row (0 while Vapor answers). */
	failures = 0;
	/** The last thing that went wrong, in words. */
	lastProblem: string | null = null;

	readonly #token: string;
	readonly #options: Required<
		Pick<
			RunOptions,
			'batchMs' | 'batchValues' | 'heartbeatMs' | 'requestTimeoutMs' | 'maxBufferedValues' | 'maxBufferedBytes'
		>
	>;
	readonly #totalSteps?: number;
	readonly #primaryMetric: string | null;
	readonly #logger: Logger;
	readonly #fetch?: Fetch;

	readonly #queue: RowQueue;
	#inflight: Row[][] = [];
	#lastStepOf = new Map<string, number>();
	#step = 0;
	#configPatch: Record<string, unknown> = {};
	#final: { status: FinishStatus; error?: string } | null = null;
	#finished: Promise<boolean> | null = null;
	#settle: (done: boolean) => void = () => {};
	#settled = false;
	#abandoned = false;
	#error: Error | null = null;
	#said = new Set<string>();

	#pumping = false;
	#again = false;
	#timer: ReturnType<typeof setTimeout> | null = null;
	#timerAt = Infinity;
	#retryAt = 0;
	#nextBatch = 0;
	#lastContact = now();
	#heartbeatsOn = true;

	constructor(options: RunOptions) {
		this.url = options.url.replace(/\/+$/, '');
		this.#token = options.token;
		this.name = options.name;
		this.tags = [...(options.tags ?? [])];
		this.strict = options.strict ?? false;
		this.id = options.id ?? null;
		this.#totalSteps = options.totalSteps;
		const primary = options.primaryMetric === undefined ? 'train/loss' : options.primaryMetric;
		this.#primaryMetric = primary === null ? null : checkKey(primary);
		this.flushTimeoutMs = options.flushTimeoutMs ?? 15_000;
		this.#options = {
			batchMs: options.batchMs ?? 500,
			batchValues: options.batchValues ?? 1_000,
			heartbeatMs: options.heartbeatMs ?? 30_000,
			requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
			maxBufferedValues: options.maxBufferedValues ?? 1_000_000,
			maxBufferedBytes: options.maxBufferedBytes ?? 100 * 1024 * 1024
		};
		this.#logger = options.logger ?? defaultLogger;
		this.#fetch = options.fetch;
		this.#queue = new RowQueue({
			maxValues: this.#options.maxBufferedValues,
			maxBytes: this.#options.maxBufferedBytes
		});
		this.config = new Config((change) => this.#patchConfig(change), options.config);
	}

	// -- the caller's side: never awaits the network ------------------------------------

	/** The last step logged (0 before the first). */
	get step(): number {
		return this.#step;
	}

	/** Values queued or in flight, not yet accepted by Vapor. */
	get unsentValues(): number {
		return this.#queue.values + this.#inflight.reduce((sum, batch) => sum + valuesIn(batch), 0);
	}

	/**
	 * Queues one step's values; step defaults to the step after the last one.
	 *
	 * A bad value (not a number, a key Vapor refuses, an accuracy above 1) throws BadValue
	 * here, naming the key and step; the other values of the call are still logged.
	 */
	log(values: Record<string, number>, step?: number): void {
		if (this.strict && this.#error) {
			const error = this.#error;
			this.#error = null;
			throw error;
		}
		if (values === null || typeof values !== 'object' || Array.isArray(values))
			throw new BadValue(`log() takes an object of key: number, such as { 'train/loss': 0.41 }, not ${typeof values}`);
		if (this.#final) {
			this.#sayOnce('log-after-finish', 'warn', 'Vapor: log() after finish() is ignored.');
			return;
		}
		const at = step === undefined ? this.#step + 1 : checkStep(step);
		const last = this.#lastStepOf;
		const wire: Record<string, WireValue> = {};
		let count = 0;
		let problems: string[] | undefined;
		for (const key in values) {
			try {
				const seen = last.get(key);
				if (seen === undefined) {
					checkKey(key);
					if (last.size + count >= MAX_KEYS_PER_RUN)
						throw new BadValue(`${JSON.stringify(key)} at step ${at}: a run holds at most ${MAX_KEYS_PER_RUN} keys`);
				} else if (at <= seen) {
					throw new BadValue(
						`${JSON.stringify(key)} at step ${at}: step does not come after its last step ${seen} (steps increase within a key)`
					);
				}
				wire[key] = toWire(key, at, values[key]);
				count++;
			} catch (problem) {
				if (!(problem instanceof BadValue)) throw problem;
				(problems ??= []).push(problem.message);
			}
		}
		if (count > 0) {
			for (const key in wire) last.set(key, at);
			if (at > this.#step) this.#step = at;
			this.#enqueue({ step: at, at: Date.now(), values: wire, count });
		}
		if (problems) throw new BadValue(problems.join('; '));
	}

	/** System samples: their own keys, at the current step or after their last one. */
	logSystem(values: Record<string, number>): void {
		if (this.#final) return;
		let at = Math.max(this.#step, 1);
		for (const key in values) at = Math.max(at, (this.#lastStepOf.get(key) ?? 0) + 1);
		const wire: Record<string, WireValue> = {};
		let count = 0;
		for (const key in values) {
			wire[key] = toWire(checkKey(key), at, values[key]);
			this.#lastStepOf.set(key, at);
			count++;
		}
		if (count > 0) this.#enqueue({ step: at, at: Date.now(), values: wire, count });
	}

	#enqueue(row: Row): void {
		const dropped = this.#queue.push(row);
		if (dropped > 0) {
			this.droppedValues += dropped;
			if (!this.#said.has('dropping')) {
				this.#said.add('dropping');
				this.#logger.warn(
					`Vapor: the buffer is full (${this.#options.maxBufferedValues.toLocaleString('en')} values / ` +
						`${Math.floor(this.#options.maxBufferedBytes / (1024 * 1024))} MB) while Vapor is unreachable: ` +
						'dropping the oldest values and counting them; finish() says how many.'
				);
				if (this.strict) this.#error = new VaporError('Vapor buffer full: the oldest values were dropped');
			}
		}
		// While Vapor is away the retry timer is set; nothing to wake.
		if (this.failures > 0) return;
		if (this.#queue.values >= this.#options.batchValues) this.#wake(0);
		else if (this.#timerAt > this.#nextBatch) this.#wakeAt(Math.max(this.#nextBatch, now()));
	}

	#patchConfig(change: Record<string, unknown>): void {
		this.#configPatch = { ...this.#configPatch, ...change };
		this.#wake(0);
	}

	/**
	 * Sends what is queued, then ends the job. Waits at most `timeoutMs` (default
	 * flushTimeoutMs), then says what was left unsent; resolves to whether all was sent.
	 * Never rejects, unless strict.
	 */
	async finish(
		status: FinishStatus = 'completed',
		error?: string,
		{ timeoutMs }: { timeoutMs?: number } = {}
	): Promise<boolean> {
		if (!this.#final) this.#final = { status, ...(error ? { error: error.slice(0, 2_000) } : {}) };
		forget(this);
		this.#finished ??= new Promise<boolean>((resolve) => (this.#settle = resolve));
		this.#wake(0);
		const wait = timeoutMs ?? this.flushTimeoutMs;
		let deadline: ReturnType<typeof setTimeout> | undefined;
		// This timer is not unref'd: it keeps a Node process alive for the flush, and no longer.
		const timedOut = new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), wait)));
		const done = await Promise.race([this.#finished, timedOut]);
		clearTimeout(deadline);
		if (!done && !this.#settled && !this.#abandoned) {
			this.#abandoned = true;
			this.#clearTimer();
			this.#logger.warn(
				`Vapor: gave up sending after ${Math.round(wait / 1000)} s: ${this.unsentValues.toLocaleString('en')} values were not sent, ` +
					`and the job was not marked ${this.#final.status} (${this.lastProblem ?? 'Vapor did not answer'}).`
			);
			this.#settleWith(false);
		}
		if (this.droppedValues > 0 && !this.#said.has('dropped-summary')) {
			this.#said.add('dropped-summary');
			this.#logger.warn(
				`Vapor: ${this.droppedValues.toLocaleString('en')} values were dropped while the buffer was full.`
			);
		}
		if (this.strict && this.#error) {
			const failure = this.#error;
			this.#error = null;
			throw failure;
		}
		return done;
	}

	/** Ends the job as failed, with the reason shown on its page. */
	fail(reason: string, options: { timeoutMs?: number } = {}): Promise<boolean> {
		return this.finish('failed', String(reason) || 'The training script reported a failure.', options);
	}

	/**
	 * The browser's last chance as a page goes away: what is queued goes in one request that
	 * outlives the page (fetch keepalive, at most 64 KB), and the job is finished when the
	 * page is not kept for going back. Best effort: nothing here is awaited or retried.
	 */
	flushOnPageHide(persisted: boolean): void {
		if (this.id === null || this.#abandoned) return;
		const rows = this.#queue.take(MAX_VALUES_PER_REQUEST);
		const body = wireBatch(rows);
		if (JSON.stringify(body).length > 60_000) {
			this.#queue.unshift(rows);
			return;
		}
		const options = { timeoutMs: this.#options.requestTimeoutMs, fetch: this.#fetch, keepalive: true };
		const path = `/api/training/jobs/${this.id}`;
		if (rows.length > 0)
			void request(this.url, this.#token, 'POST', `${path}/metrics`, body, options).catch(() => undefined);
		if (!persisted && this.#queue.length === 0) {
			this.#final ??= { status: 'completed' };
			void request(this.url, this.#token, 'POST', `${path}/finish`, this.#finishBody(), options).catch(() => undefined);
			this.#abandoned = true;
			forget(this);
		}
	}

	#sayOnce(what: string, level: keyof Logger, message: string): void {
		if (this.#said.has(what)) return;
		this.#said.add(what);
		this.#logger[level](message);
	}

	// -- the sender -------------------------------------------------------------------

	/** Creates the job (or reads job `id`) now. A refusal rejects; an unreachable Vapor is retried later. */
	async start(): Promise<void> {
		remember(this);
		try {
			if (this.id === null) await this.#create();
			else {
				this.job = (await this.#call<{ job: VaporJob }>('GET', `/api/training/jobs/${this.id}`)).job;
				this.#step = Number(this.job.currentStep ?? 0);
				this.#contact();
			}
		} catch (error) {
			if (!(error instanceof VaporError) || !error.retriable) {
				forget(this);
				this.#abandoned = true;
				throw error;
			}
			this.#away(error);
		}
		this.#nextBatch = now() + this.#options.batchMs;
		this.#scheduleNext();
	}

	#call<T>(method: string, path: string, body?: unknown): Promise<T> {
		this.requests++;
		return request<T>(this.url, this.#token, method, path, body, {
			timeoutMs: this.#options.requestTimeoutMs,
			fetch: this.#fetch
		});
	}

	async #create(): Promise<void> {
		const body: Record<string, unknown> = { name: this.name, source: 'external' };
		if (this.#totalSteps) Object.assign(body, { epochs: 1, stepsPerEpoch: Math.trunc(this.#totalSteps) });
		const config = { ...this.config.values, ...this.#configPatch };
		this.#configPatch = {};
		if (Object.keys(config).length > 0) body.config = config;
		if (this.tags.length > 0) body.tags = this.tags;
		if (this.#primaryMetric) body.primaryMetric = this.#primaryMetric;
		try {
			try {
				this.job = (await this.#call<{ job: VaporJob }>('POST', '/api/training/jobs', body)).job;
			} catch (error) {
				const refusedField =
					error instanceof VaporError &&
					error.status === 400 &&
					(error.message + JSON.stringify(error.fields ?? {})).includes('primaryMetric');
				if (!refusedField) throw error;
				// A Vapor from before named metrics: it shows loss and accuracy only.
				delete body.primaryMetric;
				this.job = (await this.#call<{ job: VaporJob }>('POST', '/api/training/jobs', body)).job;
			}
		} catch (error) {
			this.#configPatch = { ...config, ...this.#configPatch };
			throw error;
		}
		this.id = this.job.id;
		this.#contact();
		this.#logger.info(`Vapor: reporting into job ${this.id}: ${this.url}/training/jobs/${this.id}`);
	}

	#contact(): void {
		this.#lastContact = now();
		if (this.failures > 0)
			this.#logger.warn(`Vapor: reachable again after ${this.failures} failed attempts; sending what was buffered.`);
		this.failures = 0;
		this.lastProblem = null;
	}

	/** The server is away or busy: back off (with jitter) and keep buffering. */
	#away(error: VaporError): void {
		this.failures++;
		this.lastProblem = error.message;
		this.#retryAt = now() + backoffMs(this.failures);
		if (this.failures === 1)
			this.#logger.warn(`Vapor: ${error.message}; buffering and retrying in the background (training goes on).`);
	}

	#refused(error: VaporError, values: number): void {
		this.refusedValues += values;
		this.lastProblem = error.message;
		this.#logger.warn(`Vapor refused ${values} values: ${error.message}`);
		if (this.strict) this.#error = error;
	}

	#clearTimer(): void {
		if (this.#timer !== null) clearTimeout(this.#timer);
		this.#timer = null;
		this.#timerAt = Infinity;
	}

	/** Runs the sender at `at` (performance.now() time), unless it is already due sooner. */
	#wakeAt(at: number): void {
		if (this.#abandoned || this.#settled || at >= this.#timerAt) return;
		this.#clearTimer();
		this.#timerAt = at;
		this.#timer = unref(
			setTimeout(
				() => {
					this.#timer = null;
					this.#timerAt = Infinity;
					void this.#pump();
				},
				Math.max(0, at - now())
			)
		);
	}

	#wake(delayMs: number): void {
		this.#wakeAt(now() + delayMs);
	}

	#scheduleNext(): void {
		if (this.#abandoned || this.#settled) return;
		if (this.failures > 0) this.#wakeAt(this.#retryAt);
		else if (this.#final) this.#wake(0);
		else if (this.#queue.length > 0 || Object.keys(this.#configPatch).length > 0) this.#wakeAt(this.#nextBatch);
		else this.#wakeAt(this.#lastContact + this.#options.heartbeatMs);
	}

	async #pump(): Promise<void> {
		if (this.#pumping) {
			this.#again = true;
			return;
		}
		this.#pumping = true;
		try {
			do {
				this.#again = false;
				if (this.#abandoned || this.#settled) return;
				if (this.failures > 0 && now() < this.#retryAt) return;
				try {
					if (this.id === null) await this.#create();
					this.job ??= { id: this.id!, name: this.name, status: 'running', currentStep: 0, error: null };
					await this.#sendConfig();
					const final = this.#final !== null;
					if (final || now() >= this.#nextBatch || this.#queue.values >= this.#options.batchValues) {
						await this.#sendPoints(final);
						this.#nextBatch = now() + this.#options.batchMs;
					}
					await this.#heartbeat();
					if (
						this.#final &&
						this.#queue.length === 0 &&
						this.#inflight.length === 0 &&
						Object.keys(this.#configPatch).length === 0
					) {
						await this.#sendFinish();
						this.#settleWith(true);
						return;
					}
				} catch (caught) {
					if (this.#abandoned) return;
					let error: VaporError;
					if (caught instanceof VaporError) error = caught;
					else {
						// A bug here must never reach the training loop.
						this.#logger.error(`Vapor: unexpected error in the sender: ${(caught as Error)?.stack ?? caught}`);
						error = new VaporError('unexpected error in the sender');
					}
					if (error.retriable) this.#away(error);
					else if (this.id === null) {
						// The job cannot be created (a bad token, a refused name): nothing will go.
						this.#logger.error(`Vapor: could not create the job, nothing will be reported: ${error.message}`);
						this.#error = error;
						this.#abandoned = true;
						forget(this);
						this.#settleWith(false);
						return;
					} else this.#refused(error, 0);
				}
			} while (this.#again);
		} finally {
			this.#pumping = false;
			this.#scheduleNext();
		}
	}

	#settleWith(done: boolean): void {
		if (this.#settled) return;
		this.#settled = true;
		this.#clearTimer();
		this.#settle(done);
	}

	async #sendConfig(): Promise<void> {
		if (Object.keys(this.#configPatch).length === 0) return;
		const patch = this.#configPatch;
		this.#configPatch = {};
		try {
			await this.#call('PATCH', `/api/training/jobs/${this.id}`, { config: patch });
		} catch (error) {
			if (error instanceof VaporError && !error.retriable) {
				this.#refused(error, 0);
				return;
			}
			this.#configPatch = { ...patch, ...this.#configPatch };
			throw error;
		}
		this.#contact();
	}

	async #sendPoints(allOfIt: boolean): Promise<void> {
		for (;;) {
			if (this.#abandoned) return;
			if (this.#inflight.length === 0) {
				const batch = this.#queue.take(MAX_VALUES_PER_REQUEST);
				if (batch.length === 0) return;
				this.#inflight.push(batch);
			}
			const batch = this.#inflight[0]!;
			const values = valuesIn(batch);
			try {
				await this.#call('POST', `/api/training/jobs/${this.id}/metrics`, wireBatch(batch));
			} catch (error) {
				if (!(error instanceof VaporError) || error.retriable) throw error;
				if ((error.status === 400 || error.status === 409 || error.status === 413) && batch.length > 1) {
					// Find the refused row by halves, so that one bad row holds nothing else back.
					this.#inflight.splice(0, 1, ...halves(batch));
					continue;
				}
				this.#inflight.shift();
				this.#refused(error, values);
				continue;
			}
			this.#inflight.shift();
			this.sentValues += values;
			this.#contact();
			if (!allOfIt && this.#queue.values < this.#options.batchValues) return;
		}
	}

	async #heartbeat(): Promise<void> {
		if (!this.#heartbeatsOn || now() - this.#lastContact < this.#options.heartbeatMs) return;
		try {
			await this.#call('POST', `/api/training/jobs/${this.id}/heartbeat`, {});
		} catch (error) {
			if (!(error instanceof VaporError) || error.retriable) throw error;
			if (error.status === 404 && !error.message.includes('No job')) {
				this.#heartbeatsOn = false; // an older Vapor without heartbeats
				return;
			}
			this.#refused(error, 0);
		}
		this.#contact();
	}

	#finishBody(): Record<string, unknown> {
		const { status, error } = this.#final!;
		return error ? { status, error } : { status };
	}

	async #sendFinish(): Promise<void> {
		const path = `/api/training/jobs/${this.id}`;
		for (let attempt = 0; ; attempt++) {
			try {
				this.job = (await this.#call<{ job: VaporJob }>('POST', `${path}/finish`, this.#finishBody())).job;
				return;
			} catch (error) {
				if (!(error instanceof VaporError) || error.retriable) throw error;
				// Given up as lost (VAPOR_LOST_AFTER_S) between the last values and this call, as
				// after an outage on a loaded machine: a heartbeat revives it, then it can finish.
				if (error.status === 409 && attempt === 0 && this.#heartbeatsOn) {
					const answer = await this.#call<{ status?: string }>('POST', `${path}/heartbeat`, {}).catch(() => null);
					if (answer?.status === 'running') continue;
				}
				this.#refused(error, 0);
				return;
			}
		}
	}
}

// -- the runs of this process, finished at exit -------------------------------------------
const live = new Set<Run>();

function remember(run: Run): void {
	live.add(run);
}

function forget(run: Run): void {
	live.delete(run);
}

export function liveRuns(): Run[] {
	return [...live];
}
