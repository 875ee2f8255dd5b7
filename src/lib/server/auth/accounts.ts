import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db';
import type { Role } from '../db/database';
import { badRequest, conflict, HttpError, notFound } from '../errors';
import { unsafeTextProblem } from '../../training/text-safety';
import { burnPasswordCheck, hashPassword, passwordProblem, verifyPassword } from './passwords';
import { isRole } from './roles';
import { Throttle } from './throttle';
import {
	countAdmins,
	countUsers,
	deleteExpiredSessions,
	deleteSession,
	deleteUserRow,
	deleteUserSessions,
	findSessionUser,
	findUserById,
	findUserByName,
	insertFirstUser,
	insertSession,
	insertUser,
	listUserRows,
	updateUser,
	type UserRow
} from './users.repository';

/** A user as pages see one: never the password hash. */
export interface Account {
	id: string;
	username: string;
	role: Role;
	createdAt: string;
	/** false for users only a proxy signs in. */
	hasPassword: boolean;
}

export function toAccount(row: UserRow): Account {
	return {
		id: row.id,
		username: row.username,
		role: row.role,
		createdAt: row.created_at.toISOString(),
		hasPassword: row.password_hash !== null
	};
}

export const SESSION_DAYS = 30;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = '23505';

const hashSessionId = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');

export function usernameProblem(username: string): string | undefined {
	const name = username.trim();
	if (name === '') return 'Enter a user name.';
	if (name.length > 64) return 'A user name can have at most 64 characters.';
	return unsafeTextProblem('A user name', name) ?? (/\s/.test(name) ? 'A user name cannot contain spaces.' : undefined);
}

function checkNewPassword(password: string, username: string) {
	const problem = passwordProblem(password, username);
	if (problem) throw badRequest(problem, { password: problem });
}

function checkUsername(username: string) {
	const problem = usernameProblem(username);
	if (problem) throw badRequest(problem, { username: problem });
}

export async function hasUsers(db: Db): Promise<boolean> {
	return (await countUsers(db)) > 0;
}

/** VAPOR_ADMIN_USERNAME + VAPOR_ADMIN_PASSWORD at start: create that admin, or reset its role and password. */
export async function ensureEnvAdmin(
	db: Db,
	admin: { username: string; password: string }
): Promise<'created' | 'reset' | 'unchanged'> {
	checkUsername(admin.username);
	const existing = await findUserByName(db, admin.username);
	if (!existing) {
		await insertUser(db, {
			username: admin.username.trim(),
			role: 'admin',
			password_hash: await hashPassword(admin.password)
		});
		return 'created';
	}
	const samePassword =
		existing.password_hash !== null && (await verifyPassword(admin.password, existing.password_hash));
	if (samePassword && existing.role === 'admin') return 'unchanged';
	await updateUser(db, existing.id, { role: 'admin', password_hash: await hashPassword(admin.password) });
	if (!samePassword) await deleteUserSessions(db, existing.id);
	return 'reset';
}

/** The setup page: the first admin, only while there is no user at all. */
export async function createFirstAdmin(db: Db, username: string, password: string): Promise<Account> {
	checkUsername(username);
	checkNewPassword(password, username);
	const row = await insertFirstUser(db, {
		username: username.trim(),
		role: 'admin',
		password_hash: await hashPassword(password)
	});
	if (!row) throw conflict('An admin already exists. Sign in instead.');
	return toAccount(row);
}

/** A new session for a user; the returned id goes into the cookie and is stored only hashed. */
export async function startSession(db: Db, userId: string): Promise<{ id: string; expires: Date }> {
	const id = randomBytes(32).toString('base64url');
	const expires = new Date(Date.now() + SESSION_DAYS * 24 * 3600 * 1000);
	await insertSession(db, { id_hash: hashSessionId(id), user_id: userId, expires_at: expires });
	// Now and then, rather than on a timer: sessions are few, and this is one indexed delete.
	if (Math.random() < 0.05) await deleteExpiredSessions(db);
	return { id, expires };
}

export async function sessionAccount(db: Db, sessionId: string): Promise<Account | undefined> {
	if (!/^[\w-]{43}$/.test(sessionId)) return undefined;
	const row = await findSessionUser(db, hashSessionId(sessionId));
	return row ? toAccount(row) : undefined;
}

export async function endSession(db: Db, sessionId: string): Promise<void> {
	await deleteSession(db, hashSessionId(sessionId));
}

/** Failures per account and per address; a success clears the account's count. */
const KEY = Symbol.for('vapor.signInThrottles');
type Global = typeof globalThis & { [KEY]?: { account: Throttle; address: Throttle } };
function throttles() {
	const global = globalThis as Global;
	return (global[KEY] ??= { account: new Throttle(5, 15 * 60_000), address: new Throttle(20, 15 * 60_000) });
}

export class TooManyAttempts extends HttpError {
	constructor(readonly retryAfterMs: number) {
		const minutes = Math.max(1, Math.ceil(retryAfterMs / 60_000));
		super(429, `Too many failed sign-ins. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`);
	}
}

/** Checks a user name and password; throws 429 when throttled and 400 with one message for any mismatch. */
export async function checkCredentials(db: Db, username: string, password: string, address: string): Promise<Account> {
	const { account: byAccount, address: byAddress } = throttles();
	const accountKey = username.trim().toLowerCase();
	const wait = Math.max(byAccount.retryAfter(accountKey), byAddress.retryAfter(address));
	if (wait > 0) throw new TooManyAttempts(wait);
	const row = username.trim() ? await findUserByName(db, username.trim()) : undefined;
	const ok = row?.password_hash
		? await verifyPassword(password, row.password_hash)
		: (await burnPasswordCheck(password), false);
	if (!ok || !row) {
		byAccount.fail(accountKey);
		byAddress.fail(address);
		throw badRequest('That user name and password do not match.');
	}
	byAccount.succeed(accountKey);
	return toAccount(row);
}

/** Ends every session of the user (this one too); the caller starts a fresh one. */
export async function changePassword(db: Db, userId: string, current: string, next: string): Promise<void> {
	const row = await findUserById(db, userId);
	if (!row?.password_hash) throw badRequest('This account has no password to change (the proxy signs it in).');
	if (!(await verifyPassword(current, row.password_hash)))
		throw badRequest('The current password is not right.', { current: 'The current password is not right.' });
	checkNewPassword(next, row.username);
	await updateUser(db, userId, { password_hash: await hashPassword(next) });
	await deleteUserSessions(db, userId);
}

export async function listAccounts(db: Db): Promise<Account[]> {
	return (await listUserRows(db)).map(toAccount);
}

export async function createAccount(db: Db, username: string, role: string, password: string): Promise<Account> {
	checkUsername(username);
	if (!isRole(role)) throw badRequest('Choose a role: viewer, editor or admin.', { role: 'Choose a role.' });
	checkNewPassword(password, username);
	try {
		return toAccount(
			await insertUser(db, { username: username.trim(), role, password_hash: await hashPassword(password) })
		);
	} catch (error) {
		if ((error as { code?: string }).code === UNIQUE_VIOLATION)
			throw conflict(`A user named "${username.trim()}" already exists.`);
		throw error;
	}
}

async function existing(db: Db, id: string): Promise<UserRow> {
	const row = UUID.test(id) ? await findUserById(db, id.toLowerCase()) : undefined;
	if (!row) throw notFound('No such user.');
	return row;
}

async function keepAnAdmin(db: Db, row: UserRow) {
	if (row.role === 'admin' && (await countAdmins(db)) <= 1)
		throw conflict(`"${row.username}" is the only admin: make another user admin first.`);
}

export async function setRole(db: Db, id: string, role: string): Promise<Account> {
	if (!isRole(role)) throw badRequest('Choose a role: viewer, editor or admin.');
	const row = await existing(db, id);
	if (role !== 'admin') await keepAnAdmin(db, row);
	return toAccount((await updateUser(db, row.id, { role }))!);
}

/** An admin sets another user's password; that user's sessions end. */
export async function resetPassword(db: Db, id: string, password: string): Promise<Account> {
	const row = await existing(db, id);
	checkNewPassword(password, row.username);
	await updateUser(db, row.id, { password_hash: await hashPassword(password) });
	await deleteUserSessions(db, row.id);
	return toAccount(row);
}

/** Deletes a user, with its sessions and tokens. */
export async function deleteAccount(db: Db, id: string): Promise<Account> {
	const row = await existing(db, id);
	await keepAnAdmin(db, row);
	await deleteUserRow(db, row.id);
	return toAccount(row);
}

/** VAPOR_AUTH=proxy: the user the proxy names, created with the configured role the first time. */
export async function proxyAccount(db: Db, username: string, role: Role): Promise<Account> {
	const found = await findUserByName(db, username);
	if (found) return toAccount(found);
	try {
		return toAccount(await insertUser(db, { username, role, password_hash: null }));
	} catch (error) {
		if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
		return toAccount((await findUserByName(db, username))!);
	}
}
