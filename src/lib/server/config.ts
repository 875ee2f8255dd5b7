import os from 'node:os';
import path from 'node:path';
import { isIP } from 'node:net';
import { looksLikeToken } from './auth/tokens';
import { isRole, type Role } from './auth/roles';
import { DEFAULT_PASSWORD_COST } from './auth/passwords';

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
	/** on: sessions and tokens; off: open (warned at every start); proxy: a trusted proxy names the user. */
	authMode: AuthMode;
	/** VAPOR_PUBLIC_READ=1: anyone may read (pages and API reads); writes still need an identity. */
	publicRead: boolean;
	/** VAPOR_ADMIN_USERNAME + VAPOR_ADMIN_PASSWORD: the admin created or reset at start. */
	admin: { username: string; password: string } | undefined;
	/** VAPOR_AUTH=proxy: the header with the user name, the addresses it is trusted from, and new users' role. */
	proxy: { header: string; trusted: string[]; role: Role } | undefined;
	/** The session cookie's name (VAPOR_SESSION_COOKIE), for two Vapors on one host name. */
	sessionCookie: string;
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
	/** On the embedded database, writes are refused (507) while less than this many MB are free on its disk. */
	diskReserveMb: number;
	/** This process's name in leases, logs and notifications; unique per running instance. */
	instanceId: string;
	/** VAPOR_LOST_AFTER_S: a running external job not heard from (points, heartbeats) this long is failed. */
	lostAfterS: number;
	/** log2 of scrypt's N for new password hashes; below 15 only for test servers. */
	scryptCost: number;
}

export type AuthMode = 'on' | 'off' | 'proxy';

export class ConfigError extends Error {}

function authMode(env: NodeJS.ProcessEnv): AuthMode {
	if (env.VAPOR_READ_TOKEN_REQUIRED?.trim()) {
		throw new ConfigError(
			'VAPOR_READ_TOKEN_REQUIRED is gone: reads need a session or a token by default now (VAPOR_AUTH=on). ' +
				'Remove it; set VAPOR_PUBLIC_READ=1 to let anyone read.'
		);
	}
	const raw = env.VAPOR_AUTH?.trim().toLowerCase() || 'on';
	if (raw === 'on' || raw === 'off' || raw === 'proxy') return raw;
	throw new ConfigError(`VAPOR_AUTH must be on, off or proxy; it is "${raw.slice(0, 40)}".`);
}

function adminAccount(env: NodeJS.ProcessEnv): VaporConfig['admin'] {
	const username = env.VAPOR_ADMIN_USERNAME?.trim() ?? '';
	const password = env.VAPOR_ADMIN_PASSWORD ?? '';
	if (!username && !password) return undefined;
	if (!username || !password)
		throw new ConfigError('Set both VAPOR_ADMIN_USERNAME and VAPOR_ADMIN_PASSWORD, or neither.');
	return { username, password };
}

function proxySettings(env: NodeJS.ProcessEnv, mode: AuthMode): VaporConfig['proxy'] {
	if (mode !== 'proxy') return undefined;
	const header = env.VAPOR_AUTH_PROXY_HEADER?.trim().toLowerCase() ?? '';
	if (!/^[a-z0-9-]+$/.test(header))
		throw new ConfigError(
			'VAPOR_AUTH=proxy needs VAPOR_AUTH_PROXY_HEADER: the header the proxy puts the user name in.'
		);
	const trusted = (env.VAPOR_TRUSTED_PROXIES ?? '')
		.split(',')
		.map((address) => address.trim())
		.filter(Boolean);
	if (trusted.length === 0 || trusted.some((address) => isIP(address) === 0))
		throw new ConfigError(
			'VAPOR_AUTH=proxy needs VAPOR_TRUSTED_PROXIES: the proxy addresses, comma-separated (e.g. 127.0.0.1,::1).'
		);
	const role = env.VAPOR_AUTH_PROXY_ROLE?.trim() || 'viewer';
	if (!isRole(role)) throw new ConfigError(`VAPOR_AUTH_PROXY_ROLE must be viewer, editor or admin; it is "${role}".`);
	return { header, trusted, role };
}

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
	const mode = authMode(env);
	const cookie = env.VAPOR_SESSION_COOKIE?.trim() || 'vapor_session';
	if (!/^[\w-]{1,64}$/.test(cookie)) throw new ConfigError('VAPOR_SESSION_COOKIE must be letters, digits, "-" or "_".');
	return {
		authMode: mode,
		publicRead: flag(env, 'VAPOR_PUBLIC_READ'),
		admin: adminAccount(env),
		proxy: proxySettings(env, mode),
		sessionCookie: cookie,
		bootstrapToken: bootstrapToken(env),
		databaseUrl: env.DATABASE_URL?.trim() || undefined,
		dataDir: path.resolve(env.VAPOR_DATA_DIR?.trim() || '.vapor'),
		demo: flag(env, 'VAPOR_DEMO', true),
		simStepMs: integerSetting(env, 'VAPOR_SIM_STEP_MS', 200, 1, 60_000),
		sseHeartbeatMs: integerSetting(env, 'VAPOR_SSE_HEARTBEAT_MS', 15_000, 10, 3_600_000),
		sseMaxBufferBytes: integerSetting(env, 'VAPOR_SSE_MAX_BUFFER_BYTES', 4 * 1024 * 1024, 1024, 1024 ** 3),
		sseStallMs: integerSetting(env, 'VAPOR_SSE_STALL_MS', 30_000, 100, 3_600_000),
		leaseMs: integerSetting(env, 'VAPOR_LEASE_MS', 1_500, 500, 600_000),
		exportMax: integerSetting(env, 'VAPOR_EXPORT_MAX', 20, 1, 10_000),
		exportMaxPerClient: integerSetting(env, 'VAPOR_EXPORT_MAX_PER_CLIENT', 4, 1, 10_000),
		exportIdleMs: integerSetting(env, 'VAPOR_EXPORT_IDLE_MS', 30_000, 100, 3_600_000),
		dbTimeoutMs: integerSetting(env, 'VAPOR_DB_TIMEOUT_MS', 5_000, 100, 600_000),
		diskReserveMb: integerSetting(env, 'VAPOR_DISK_RESERVE_MB', 64, 0, 1024 ** 2),
		instanceId: instanceId(env),
		lostAfterS: integerSetting(env, 'VAPOR_LOST_AFTER_S', 300, 1, 7 * 24 * 3600),
		scryptCost: integerSetting(env, 'VAPOR_SCRYPT_COST', DEFAULT_PASSWORD_COST, 10, 20)
	};
}
