import { sql, type Selectable } from 'kysely';
import type { Db } from '../db';
import type { Role, SessionsTable, UsersTable } from '../db/database';

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;

export async function countUsers(db: Db): Promise<number> {
	const row = await db
		.selectFrom('users')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.executeTakeFirstOrThrow();
	return Number(row.n);
}

export async function countAdmins(db: Db): Promise<number> {
	const row = await db
		.selectFrom('users')
		.where('role', '=', 'admin')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.executeTakeFirstOrThrow();
	return Number(row.n);
}

export async function findUserByName(db: Db, username: string): Promise<UserRow | undefined> {
	return db
		.selectFrom('users')
		.selectAll()
		.where(sql<string>`lower(username)`, '=', username.toLowerCase())
		.executeTakeFirst();
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
	return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listUserRows(db: Db): Promise<UserRow[]> {
	return db
		.selectFrom('users')
		.selectAll()
		.orderBy(sql`lower(username)`)
		.execute();
}

export async function insertUser(
	db: Db,
	user: { username: string; role: Role; password_hash: string | null }
): Promise<UserRow> {
	return db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
}

/** Inserts only when no user exists yet (the setup page's one admin); undefined when someone was first. */
export async function insertFirstUser(
	db: Db,
	user: { username: string; role: Role; password_hash: string }
): Promise<UserRow | undefined> {
	return db.transaction().execute(async (trx) => {
		// Two setup forms sent at once must not both find the table empty.
		await sql`select pg_advisory_xact_lock(${FIRST_USER_LOCK})`.execute(trx);
		if (await trx.selectFrom('users').select('id').limit(1).executeTakeFirst()) return undefined;
		return trx.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
	});
}

const FIRST_USER_LOCK = 7_346_110_001;

export async function updateUser(
	db: Db,
	id: string,
	changes: { role?: Role; password_hash?: string | null }
): Promise<UserRow | undefined> {
	return db.updateTable('users').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteUserRow(db: Db, id: string): Promise<UserRow | undefined> {
	return db.deleteFrom('users').where('id', '=', id).returningAll().executeTakeFirst();
}

export async function insertSession(db: Db, session: { id_hash: string; user_id: string; expires_at: Date }) {
	await db.insertInto('sessions').values(session).execute();
}

/** The user of a live session, in one indexed read. */
export async function findSessionUser(db: Db, idHash: string): Promise<UserRow | undefined> {
	return db
		.selectFrom('sessions')
		.innerJoin('users', 'users.id', 'sessions.user_id')
		.selectAll('users')
		.where('sessions.id_hash', '=', idHash)
		.where('sessions.expires_at', '>', new Date())
		.executeTakeFirst();
}

export async function deleteSession(db: Db, idHash: string): Promise<void> {
	await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
}

export async function deleteUserSessions(db: Db, userId: string): Promise<void> {
	await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}

export async function deleteExpiredSessions(db: Db): Promise<void> {
	await db.deleteFrom('sessions').where('expires_at', '<=', new Date()).execute();
}
