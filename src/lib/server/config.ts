import os from 'node:os';
import path from 'node:path';
import { looksLikeToken } from './auth/tokens';

/** Settings read from the environment; every variable is listed in the README. */
export interface VaporConfig {
	/** Real Postgres when set; otherwise the embedded PGlite database in `dataDir`. */
	databaseUrl: string | undefined;
	dataDir: string;
	/** Create demo jobs on the first start of an empty database. */
	demo: boolean;
	/** Milliseconds between simulator ticks (one point per running job per tick). */
	simStepMs: number;
	/** Milliseconds between heartbeat comments on event streams. */
	sseHeartbeatMs: number;
	/** Unread bytes after which a slow stream client is dropped (it resumes by id). */
	sseMaxBufferBytes: number;
	/** A stream client that takes nothing for this long while history waits is dropped. */
	sseStallMs: number;
	/** VAPOR_READ_TOKEN_REQUIRED=1: API reads (JSON and event streams) need a token too, not only writes. */
	readTokenRequired: boolean;
	/** VAPOR_BOOTSTRAP_TOKEN: a token stored on start, for deployments and tests that need one before any UI. */
	bootstrapToken: string | undefined;
	/** How long an instance's claim on a running job lasts unless renewed; another instance takes over after it. */
	leaseMs: number;
	/** CSV/JSON downloads open at once, overall and per client address; more get a 429. */
	exportMax: number;
	exportMaxPerClient: number;
	/** A download whose client takes nothing for this long is ended. */
	exportIdleMs: number;
	/** The longest a request waits for a database connection or a statement's answer before a 503. */
	dbTimeoutMs: number;
	/** This process's name in leases, logs and notifications; unique per running instance. */
	instanceId: string;
}

export class ConfigError extends Error {}

function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
	const raw = env[name]?.trim();
	if (!raw) return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < min || value > max) {
		throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; it is "${raw}".`);
	}
	return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback = false): boolean {
	const raw = env[name]?.trim() ?? '';
	if (raw === '') return fallback;
	if (raw === '0') return false;
	if (raw === '1') return true;
	throw new ConfigError(`${name} must be 1 or 0; it is "${raw}".`);
}

function bootstrapToken(env: NodeJS.ProcessEnv): string | undefined {
	const raw = env.VAPOR_BOOTSTRAP_TOKEN?.trim();
	if (!raw) return undefined;
	if (!looksLikeToken(raw)) {
		throw new ConfigError(
			'VAPOR_BOOTSTRAP_TOKEN must look like a Vapor token: "vpr_" and at least 32 letters, digits, "-" or "_" ' +
				"(make one with: node -e \"console.log('vpr_' + require('crypto').randomBytes(32).toString('base64url'))\")."
		);
	}
	return raw;
}

function instanceId(env: NodeJS.ProcessEnv): string {
	const raw = env.VAPOR_INSTANCE_ID?.trim();
	// Host and port by default: unique among live instances (one server per port), and the
	// same after a restart, so a restarted instance takes its own jobs back at once
	// instead of waiting for their leases to expire.
	if (!raw) return `${os.hostname().slice(0, 40)}:${env.PORT?.trim() || '3000'}`;
	if (!/^[\w.:-]{1,64}$/.test(raw)) {
		throw new ConfigError(
			`VAPOR_INSTANCE_ID must be 1 to 64 letters, digits, ".", ":", "-" or "_"; it is "${raw.slice(0, 80)}".`
		);
	}
	return raw;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): VaporConfig {
	return {
		readTokenRequired: flag(env, 'VAPOR_READ_TOKEN_REQUIRED'),
		bootstrapToken: bootstrapToken(env),
		databaseUrl: env.DATABASE_URL?.trim() || undefined,
		dataDir: path.resolve(env.VAPOR_DATA_DIR?.trim() || '.vapor'),
		demo: flag(env, 'VAPOR_DEMO', true),
		simStepMs: integerSetting(env, 'VAPOR_SIM_STEP_MS', 200, 1, 60_000),
		sseHeartbeatMs: integerSetting(env, 'VAPOR_SSE_HEARTBEAT_MS', 15_000, 10, 3_600_000),
		sseMaxBufferBytes: integerSetting(env, 'VAPOR_SSE_MAX_BUFFER_BYTES', 4 * 1024 * 1024, 1024, 1024 ** 3),
		sseStallMs: integerSetting(env, 'VAPOR_SSE_STALL_MS', 30_000, 100, 3_600_000),
		leaseMs: integerSetting(env, 'VAPOR_LEASE_MS', 5_000, 500, 600_000),
		exportMax: integerSetting(env, 'VAPOR_EXPORT_MAX', 20, 1, 10_000),
		exportMaxPerClient: integerSetting(env, 'VAPOR_EXPORT_MAX_PER_CLIENT', 4, 1, 10_000),
		exportIdleMs: integerSetting(env, 'VAPOR_EXPORT_IDLE_MS', 30_000, 100, 3_600_000),
		dbTimeoutMs: integerSetting(env, 'VAPOR_DB_TIMEOUT_MS', 5_000, 100, 600_000),
		instanceId: instanceId(env)
	};
}
