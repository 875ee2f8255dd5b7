import type { Selectable } from 'kysely';
import type { Db } from '../db';
import type { ApiTokensTable } from '../db/database';

export type TokenRow = Selectable<ApiTokensTable>;

export async function insertToken(
	db: Db,
	token: { name: string; token_hash: string; hint: string }
): Promise<TokenRow> {
	return db.insertInto('api_tokens').values(token).returningAll().executeTakeFirstOrThrow();
}

/** Inserts unless the hash (or an active token's name) is taken; true when a row was written. */
export async function insertTokenIfAbsent(
	db: Db,
	token: { name: string; token_hash: string; hint: string }
): Promise<boolean> {
	const row = await db
		.insertInto('api_tokens')
		.values(token)
		.onConflict((oc) => oc.doNothing())
		.returning('id')
		.executeTakeFirst();
	return row !== undefined;
}

export async function findTokenByHash(db: Db, tokenHash: string): Promise<TokenRow | undefined> {
	return db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Active tokens first (newest first), then revoked ones. */
export async function listTokenRows(db: Db): Promise<TokenRow[]> {
	return db
		.selectFrom('api_tokens')
		.selectAll()
		.orderBy((eb) => eb(eb.ref('revoked_at'), 'is', null), 'desc')
		.orderBy('created_at', 'desc')
		.orderBy('id', 'desc')
		.execute();
}

/** Revokes the active token with this id or name; undefined when there is none. */
export async function revokeActiveToken(db: Db, by: { id: string } | { name: string }): Promise<TokenRow | undefined> {
	let query = db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('revoked_at', 'is', null);
	query = 'id' in by ? query.where('id', '=', by.id) : query.where('name', '=', by.name);
	return query.returningAll().executeTakeFirst();
}

export async function findTokenById(db: Db, id: string): Promise<TokenRow | undefined> {
	return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}
