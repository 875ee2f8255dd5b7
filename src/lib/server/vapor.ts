import { readConfig, type VaporConfig } from './config';
import { HttpError } from './errors';
import { databaseTarget, describeTarget, openDatabase, type DatabaseHandle, type Db } from './db';
import { migrateToLatest, withAdvisoryLock } from './db/migrate';
import { JobEvents } from './events/job-events';
import { NotificationRelay } from './events/notification-relay';
import { seedDemoJobs } from './jobs/demo-jobs';
import { JobDeleter } from './jobs/job-deleter';
import { LostContactWatcher } from './jobs/lost-contact-watcher';
import { randomBytes } from 'node:crypto';
import { ensureEnvAdmin, hasUsers } from './auth/accounts';
import { DEFAULT_PASSWORD_COST, setPasswordCost } from './auth/passwords';
import { ensureBootstrapToken } from './auth/tokens.service';
import { findUserByName } from './auth/users.repository';
import { log } from './log';
import { BlockRollups } from './metrics/block-rollups';
import { ExportLimits } from './metrics/export-limits';
import { Simulator } from './simulator/simulator';
import type { StreamDeps } from './stream/job-stream';
import { JobsFeed } from './stream/jobs-feed';
import { endAllStreams } from './stream/sse-connection';

/** What one server process runs. Kept on globalThis so that Vite dev reloads reuse it, never stack it. */
interface Vapor {
	config: VaporConfig;
	database: DatabaseHandle;
	events: JobEvents;
	simulator: Simulator;
	rollups: BlockRollups;
	/** Deletes runs in the background, batch by batch. */
	deleter: JobDeleter;
	/** Fails external jobs whose script went silent (VAPOR_LOST_AFTER_S). */
	lostContact: LostContactWatcher;
	/** Other instances' changes, on Postgres; PGlite has one process only. */
	relay: NotificationRelay | undefined;
	streams: StreamDeps;
	jobsFeed: JobsFeed;
	exportLimits: ExportLimits;
	/** The one-time code of the first-admin setup link, while the database has no user. */
	setupCode: string | undefined;
	ready: Promise<void>;
}

const HISTORY_BATCH = 1_000;
const RETRY_MS = 2_000;
const PROGRESS_INTERVAL_MS = 250;

const KEY = Symbol.for('vapor.process');
type Global = typeof globalThis & { [KEY]?: Vapor };

/**
 * Where a person opens this server: ORIGIN when set, else the port it listens on
 * (Vite's 5173 under `npm run dev`).
 */
export function publicBaseUrl(dev: boolean): string {
	const origin = process.env.ORIGIN?.trim();
	if (origin) return origin.replace(/\/$/, '');
	return `http://localhost:${dev ? 5173 : process.env.PORT?.trim() || 3000}`;
}

export function startVapor(config: VaporConfig = readConfig(), { dev = false }: { dev?: boolean } = {}): Promise<void> {
	const global = globalThis as Global;
	if (global[KEY]) return global[KEY].ready;

	const target = databaseTarget(config);
	const database = openDatabase(target, {
		requestTimeoutMs: config.dbTimeoutMs,
		diskReserveBytes: config.diskReserveMb * 1024 ** 2
	});
	const events = new JobEvents(config.instanceId);
	const rollups = new BlockRollups(database.db);
	// Background deletes on the background connections too: they must not wait behind requests.
	const deleter = new JobDeleter(database.background);
	const lostContact = new LostContactWatcher(database.background, events, config.lostAfterS);
	// Training and the relay on connections of their own: no request load can stop them.
	const relay = database.postgres ? new NotificationRelay(database.background, database.postgres, events) : undefined;
	const simulator = new Simulator(database.background, events, rollups, {
		stepMs: config.simStepMs,
		leaseMs: config.leaseMs
	});
	const sse = {
		heartbeatMs: config.sseHeartbeatMs,
		maxBufferBytes: config.sseMaxBufferBytes,
		stallMs: config.sseStallMs,
		retryMs: RETRY_MS
	};
	const streams: StreamDeps = { db: database.db, bus: events.bus, options: { ...sse, historyBatch: HISTORY_BATCH } };
	const jobsFeed = new JobsFeed(database.db, events.bus, { ...sse, progressIntervalMs: PROGRESS_INTERVAL_MS });
	const ready = (async () => {
		const applied = await migrateToLatest(database.db);
		log.info('database ready', { database: describeTarget(target), migrationsApplied: applied.length });
		await prepareAccess(config, database.db, dev);
		if (config.bootstrapToken) {
			const admin = config.admin ? await findUserByName(database.db, config.admin.username) : undefined;
			const outcome = await ensureBootstrapToken(database.db, config.bootstrapToken, admin?.id);
			if (outcome === 'stored') log.info('stored the token from VAPOR_BOOTSTRAP_TOKEN');
			if (outcome === 'name taken') {
				log.warn(
					'VAPOR_BOOTSTRAP_TOKEN changed, but the previous one is still active under that name: revoke it ' +
						'(Settings page, or npm run token -- revoke VAPOR_BOOTSTRAP_TOKEN) and restart to store the new one'
				);
			}
		}
		if (config.demo) {
			const created = await seedDemoJobs(database.db);
			if (created > 0) log.info('created demo jobs', { count: created });
		}
		await relay?.start();
		// Deletes a previous process left half done are finished first.
		deleter.start();
		lostContact.start();
		simulator.start();
		log.info('simulator started', { stepMs: config.simStepMs, instance: events.instanceId });
	})();
	const exportLimits = new ExportLimits({
		max: config.exportMax,
		maxPerClient: config.exportMaxPerClient,
		idleMs: config.exportIdleMs
	});
	global[KEY] = {
		config,
		database,
		events,
		simulator,
		rollups,
		deleter,
		lostContact,
		relay,
		streams,
		jobsFeed,
		exportLimits,
		setupCode: undefined,
		ready
	};
	return ready;
}

/** An advisory lock key of its own (the demo jobs and migrations hold others). */
const ENV_ADMIN_LOCK = 0x7a90_0a0d;

async function prepareAccess(config: VaporConfig, db: Db, dev: boolean): Promise<void> {
	setPasswordCost(config.scryptCost);
	if (config.scryptCost < DEFAULT_PASSWORD_COST)
		log.warn(
			'VAPOR_SCRYPT_COST is below the default: new password hashes are cheaper to crack. Meant for test servers.',
			{
				cost: config.scryptCost,
				default: DEFAULT_PASSWORD_COST
			}
		);
	if (config.authMode === 'off') {
		log.warn(
			'VAPOR_AUTH=off: anyone who can reach this server can see, start, stop and create jobs and manage tokens. ' +
				'Use it only on a machine and network you trust.'
		);
	}
	if (config.admin) {
		const admin = config.admin;
		// Instances starting together would both insert the admin: one at a time.
		const outcome = await withAdvisoryLock(db, ENV_ADMIN_LOCK, (trx) => ensureEnvAdmin(trx, admin));
		if (outcome !== 'unchanged')
			log.info(`${outcome} the admin from VAPOR_ADMIN_USERNAME`, { user: config.admin.username });
	}
	if (config.authMode === 'on' && !(await hasUsers(db))) {
		const code = randomBytes(24).toString('base64url');
		(globalThis as Global)[KEY]!.setupCode = code;
		const link = `${publicBaseUrl(dev)}/setup?code=${code}`;
		log.info('no users yet: open the setup link to create the first admin', { link });
		// Plain too, so that a person sees it among the log lines and can click it.
		console.log(`\n  Vapor has no users yet. Create the first admin here (this link works once):\n\n    ${link}\n`);
	}
}

/** The setup link's code while no user exists; undefined once the first admin is made. */
export function setupCode(): string | undefined {
	return current().setupCode;
}

export function consumeSetupCode(): void {
	current().setupCode = undefined;
}

/**
 * The first step of a shutdown, on SIGTERM or SIGINT: no more ticks, and every stream
 * ended, so that the HTTP server can close now rather than wait for streaming clients
 * (which reconnect by id to the next process). The database closes in stopVapor().
 */
export async function quiesceVapor(): Promise<void> {
	const vapor = (globalThis as Global)[KEY];
	if (!vapor) return;
	endAllStreams();
	vapor.exportLimits.endAll();
	await vapor.simulator.stop();
}

/**
 * Closes everything of this process, within STOP_BUDGET_MS whatever the database does (a
 * frozen one answers nothing): each step gets what is left of the budget, the database's
 * close at least CLOSE_RESERVE_MS of it. Returns each step's time in ms, for the log.
 */
export async function stopVapor(): Promise<Record<string, number>> {
	const global = globalThis as Global;
	const vapor = global[KEY];
	if (!vapor) return {};
	delete global[KEY];
	const deadline = performance.now() + STOP_BUDGET_MS;
	const took: Record<string, number> = {};
	const step = async (name: string, work: () => Promise<unknown>, last = false) => {
		const started = performance.now();
		const left = deadline - started;
		await boundedStep(name, work, last ? Math.max(left, CLOSE_RESERVE_MS) : Math.max(0, left - CLOSE_RESERVE_MS));
		took[name] = Math.round(performance.now() - started);
	};
	// A stop during the start (migrations) waits for it only as long as the budget allows.
	await step('finish starting', () => vapor.ready.catch(() => {}));
	await step('stop the simulator', () => vapor.simulator.stop());
	await step('finish block roll-ups', () => vapor.rollups.idle());
	await step('pause background deletes', () => vapor.deleter.stop());
	await step('stop watching for lost contact', () => vapor.lostContact.stop());
	await step("stop relaying other instances' changes", async () => vapor.relay?.stop());
	await step('close the database', () => vapor.database.close(), true);
	return took;
}

/** The whole of stopVapor(); the HTTP server has closed before it starts. */
export const STOP_BUDGET_MS = 2_000;
/** Kept for the database's close, whatever the steps before it took. */
const CLOSE_RESERVE_MS = 500;

async function boundedStep(name: string, step: () => Promise<unknown>, ms: number): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
	const outcome = await Promise.race([
		step().then(
			() => 'done' as const,
			(error: unknown) => error
		),
		timedOut
	]);
	clearTimeout(timer);
	if (outcome === 'timeout') log.warn(`shutdown: could not ${name} in ${Math.round(ms)} ms; going on`);
	else if (outcome !== 'done') log.warn(`shutdown: could not ${name}`, { error: outcome });
}

function current(): Vapor {
	const vapor = (globalThis as Global)[KEY];
	// Between shutdown and exit, requests still in flight get a 503, not a 500.
	if (!vapor) throw new HttpError(503, 'The server is starting or shutting down. Try again in a moment.');
	return vapor;
}

/** The one Kysely instance of this process. */
export function db(): Db {
	return current().database.db;
}

/** The database handle of this process (pools, health ping). */
export function database(): DatabaseHandle {
	return current().database;
}

/** The settings this process started with. */
export function config(): VaporConfig {
	return current().config;
}

/** The publisher of this process's job events. */
export function events(): JobEvents {
	return current().events;
}

/** What the event-stream endpoints need. */
export function streams(): StreamDeps {
	return current().streams;
}

/** The background roll-up of completed metric blocks, for writers of points. */
export function rollups(): BlockRollups {
	return current().rollups;
}

/** The background deleter: kick it after marking a job for deletion. */
export function deleter(): JobDeleter {
	return current().deleter;
}

/** The cap on open downloads (exports). */
export function exportLimits(): ExportLimits {
	return current().exportLimits;
}

export function jobsFeed(): JobsFeed {
	return current().jobsFeed;
}
