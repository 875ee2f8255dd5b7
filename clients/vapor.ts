/**
 * Report a training run into Vapor: fetch only, no dependencies (Node 18+, Deno, Bun, browsers).
 *
 *   import { Vapor } from './vapor';
 *   const run = await new Vapor('http://localhost:3000', token).createJob({ name: 'iris', epochs: 30, stepsPerEpoch: 15 });
 *   for (…) await run.log(step, loss, accuracy);
 *   await run.finish();
 *
 * Points are batched (one request per `batchSize` points or every `flushMs`) and retried
 * with exponential backoff when the server is unreachable or busy. Retrying is safe: the
 * server accepts a batch it already stored again without writing it twice. A NaN or
 * infinite loss is sent as the run's failure signal and fails the job.
 */

export const MAX_POINTS_PER_REQUEST = 10_000;

export interface VaporOptions {
	/** Points per request (1–10,000). Default 500. */
	batchSize?: number;
	/** Send queued points at least this often while logging. Default 2,000 ms. */
	flushMs?: number;
	/** Retries of a failed request. Default 6. */
	retries?: number;
	/** The first retry's wait; each next one doubles (with jitter). Default 500 ms. */
	backoffMs?: number;
	/** One request's timeout. Default 30,000 ms. */
	timeoutMs?: number;
}

export interface NewExternalJob {
	name: string;
	epochs?: number;
	stepsPerEpoch?: number;
	baseModel?: string;
	dataset?: string;
	learningRate?: number;
	batchSize?: number;
}

export interface VaporJob {
	id: string;
	name: string;
	status: 'queued' | 'running' | 'completed' | 'failed' | 'stopped';
	source: 'simulated' | 'external';
	currentStep: number;
	error: string | null;
	[field: string]: unknown;
}

export class VaporError extends Error {
	constructor(
		message: string,
		readonly status?: number,
		readonly fields?: Record<string, string>
	) {
		super(message);
		this.name = 'VaporError';
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Vapor {
	readonly url: string;
	readonly options: Required<VaporOptions>;

	constructor(
		url: string,
		private readonly token: string,
		options: VaporOptions = {}
	) {
		if (!token) throw new VaporError('Vapor needs an API token (create one on /settings).');
		this.url = url.replace(/\/+$/, '');
		this.options = { batchSize: 500, flushMs: 2_000, retries: 6, backoffMs: 500, timeoutMs: 30_000, ...options };
		const { batchSize } = this.options;
		if (!(batchSize >= 1 && batchSize <= MAX_POINTS_PER_REQUEST))
			throw new RangeError(`batchSize must be between 1 and ${MAX_POINTS_PER_REQUEST}`);
	}

	/**
	 * One API call. Network errors, 408, 429 and 5xx are retried with backoff; a call that is
	 * not idempotent (creating a job) only when it surely did not arrive (refused, or 503).
	 */
	async request<T>(method: string, path: string, body?: unknown, { idempotent = true } = {}): Promise<T> {
		for (let attempt = 0; ; attempt++) {
			let retriable: boolean;
			let failure: VaporError;
			try {
				const response = await fetch(this.url + path, {
					method,
					headers: {
						authorization: `Bearer ${this.token}`,
						accept: 'application/json',
						...(body === undefined ? {} : { 'content-type': 'application/json' })
					},
					body: body === undefined ? undefined : JSON.stringify(body),
					signal: AbortSignal.timeout(this.options.timeoutMs)
				});
				if (response.ok) return (await response.json()) as T;
				const answer = (await response.json().catch(() => ({}))) as { error?: string; fields?: Record<string, string> };
				failure = new VaporError(
					`${method} ${path} → ${response.status}: ${answer.error ?? response.statusText}`,
					response.status,
					answer.fields
				);
				retriable = idempotent
					? response.status === 408 || response.status === 429 || response.status >= 500
					: response.status === 503;
			} catch (error) {
				const cause = (error as { cause?: { code?: string } }).cause;
				failure = new VaporError(
					`${method} ${path}: could not reach Vapor at ${this.url} (${cause?.code ?? (error as Error).message})`
				);
				retriable = idempotent || cause?.code === 'ECONNREFUSED';
			}
			if (!retriable || attempt >= this.options.retries) throw failure;
			await sleep(this.options.backoffMs * 2 ** attempt * (0.5 + Math.random()));
		}
	}

	/** Creates an external job; it turns running with its first points. */
	async createJob(job: NewExternalJob): Promise<Run> {
		const { job: created } = await this.request<{ job: VaporJob }>(
			'POST',
			'/api/training/jobs',
			{ ...job, source: 'external' },
			{ idempotent: false }
		);
		return new Run(this, created);
	}

	/** Continues reporting into an existing external job (after a restart of the script). */
	async run(jobId: string): Promise<Run> {
		const { job } = await this.request<{ job: VaporJob }>('GET', `/api/training/jobs/${jobId}`);
		return new Run(this, job);
	}
}

interface WirePoint {
	step: number;
	loss: number | 'NaN' | 'Infinity' | '-Infinity';
	nonFinite?: true;
	accuracy?: number;
	epoch?: number;
	recordedAt: string;
}

export class Run {
	readonly id: string;
	#pending: WirePoint[] = [];
	#lastFlush = performance.now();
	#lastStep: number;
	#sending: Promise<void> = Promise.resolve();
	finished = false;

	constructor(
		readonly client: Vapor,
		public job: VaporJob
	) {
		this.id = job.id;
		this.#lastStep = job.currentStep ?? 0;
	}

	/** Queues one point (steps must increase); sends a batch when one is full or due. A NaN or infinite loss fails the run. */
	async log(
		step: number,
		loss: number,
		accuracy?: number | null,
		extra: { epoch?: number; recordedAt?: Date | string } = {}
	): Promise<void> {
		if (this.finished) throw new VaporError('This run is finished; create a new job for a new run.');
		if (!(step > this.#lastStep))
			throw new RangeError(`step ${step} does not come after step ${this.#lastStep}: steps must increase`);
		const recordedAt =
			extra.recordedAt === undefined ? new Date().toISOString() : new Date(extra.recordedAt).toISOString();
		const point: WirePoint = Number.isFinite(loss)
			? { step, loss, recordedAt }
			: { step, loss: Number.isNaN(loss) ? 'NaN' : loss > 0 ? 'Infinity' : '-Infinity', nonFinite: true, recordedAt };
		if (accuracy !== undefined && accuracy !== null) point.accuracy = accuracy;
		if (extra.epoch !== undefined) point.epoch = extra.epoch;
		this.#pending.push(point);
		this.#lastStep = step;
		if (point.nonFinite) {
			// The server fails the job with this point: nothing may follow it.
			await this.flush();
			this.finished = true;
		} else if (
			this.#pending.length >= this.client.options.batchSize ||
			performance.now() - this.#lastFlush >= this.client.options.flushMs
		) {
			await this.flush();
		}
	}

	/** Sends the queued points now, in order (the same batch again on a retry). */
	flush(): Promise<void> {
		this.#sending = this.#sending
			.catch(() => {})
			.then(async () => {
				while (this.#pending.length > 0) {
					const batch = this.#pending.slice(0, this.client.options.batchSize);
					await this.client.request('POST', `/api/training/jobs/${this.id}/metrics`, batch);
					this.#pending.splice(0, batch.length);
				}
				this.#lastFlush = performance.now();
			});
		return this.#sending;
	}

	/** Sends what is queued, then marks the job completed (or failed, with a reason). */
	async finish(status: 'completed' | 'failed' = 'completed', error?: string): Promise<VaporJob> {
		if (this.finished && status === 'completed') return this.job;
		await this.flush();
		const body = { status, ...(error ? { error: error.slice(0, 2_000) } : {}) };
		this.job = (await this.client.request<{ job: VaporJob }>('POST', `/api/training/jobs/${this.id}/finish`, body)).job;
		this.finished = true;
		return this.job;
	}

	fail(error: string): Promise<VaporJob> {
		return this.finish('failed', error);
	}
}
