import type { Selectable } from 'kysely';
import type { Db } from '../db';
import type { ApiTokensTable, Role, TokenScope } from '../db/database';

export type TokenRow = Selectable<ApiTokensTable> & { owner_name: string | null; owner_role: Role | null };
type NewToken = { name: string; token_hash: string; hint: string; user_id?: string | null; scope?: TokenScope };

const withOwner = (db: Db) =>
	db
		.selectFrom('api_tokens')
		.leftJoin('users', 'users.id', 'api_tokens.user_id')
		.selectAll('api_tokens')
		.select(['users.username as owner_name', 'users.role as owner_role']);

export async function insertToken(db: Db, token: NewToken): Promise<TokenRow> {
	const row = await db.insertInto('api_tokens').values(token).returning('id').executeTakeFirstOrThrow();
	return (await findTokenById(db, row.id))!;
}

/** Inserts unless the hash (or an active token's name) is taken; true when a row was written. */
export async function insertTokenIfAbsent(db: Db, token: NewToken): Promise<boolean> {
	const row = await db
		.insertInto('api_tokens')
		.values(token)
		.onConflict((oc) => oc.doNothing())
		.returning('id')
		.executeTakeFirst();
	return row !== undefined;
}

export async function findTokenByHash(db: Db, tokenHash: string): Promise<TokenRow | undefined> {
	return withOwner(db).where('api_tokens.token_hash', '=', tokenHash).executeTakeFirst();
}

/** Active tokens first (newest first), then revoked ones. */
export async function listTokenRows(db: Db, ownerId?: string): Promise<TokenRow[]> {
	let query = withOwner(db);
	if (ownerId !== undefined) query = query.where('api_tokens.user_id', '=', ownerId);
	return query
		.orderBy((eb) => eb(eb.ref('api_tokens.revoked_at'), 'is', null), 'desc')
		.orderBy('api_tokens.created_at', 'desc')
		.orderBy('api_tokens.id', 'desc')
		.execute();
}

/** The bootstrap token belongs to the env admin, also when it was stored before accounts existed. */
export async function setTokenOwner(db: Db, tokenHash: string, userId: string): Promise<void> {
	await db.updateTable('api_tokens').set({ user_id: userId }).where('token_hash', '=', tokenHash).execute();
}

/** Revokes the active token with this id or name; undefined when there is none. */
export async function revokeActiveToken(
	db: Db,
	by: { id: string } | { name: string },
	ownerId?: string
): Promise<TokenRow | undefined> {
	let query = db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('revoked_at', 'is', null);
	query = 'id' in by ? query.where('id', '=', by.id) : query.where('name', '=', by.name);
	if (ownerId !== undefined) query = query.where('user_id', '=', ownerId);
	const row = await query.returning('id').executeTakeFirst();
	return row ? findTokenById(db, row.id) : undefined;
}

export async function findTokenById(db: Db, id: string): Promise<TokenRow | undefined> {
	return withOwner(db).where('api_tokens.id', '=', id).executeTakeFirst();
}
