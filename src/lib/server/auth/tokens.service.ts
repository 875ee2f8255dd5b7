import type { Db } from '../db';
import { badRequest, conflict, notFound } from '../errors';
import {
	findTokenByHash,
	findTokenById,
	insertToken,
	insertTokenIfAbsent,
	listTokenRows,
	revokeActiveToken,
	type TokenRow
} from './tokens.repository';
import { generateToken, hashToken, looksLikeToken, tokenHint, tokenNameProblem } from './tokens';
import { isUuid } from '../../uuid';

/** A stored token as the Settings page and the CLI show it: never the token itself. */
export interface TokenInfo {
	id: string;
	name: string;
	hint: string;
	createdAt: string;
	revokedAt: string | null;
}

function toInfo(row: TokenRow): TokenInfo {
	return {
		id: row.id,
		name: row.name,
		hint: row.hint,
		createdAt: row.created_at.toISOString(),
		revokedAt: row.revoked_at ? row.revoked_at.toISOString() : null
	};
}

const UNIQUE_VIOLATION = '23505';

/** Creates a token; the returned `token` is the only time it exists in clear. */
export async function createToken(db: Db, name: string): Promise<{ token: string; info: TokenInfo }> {
	const problem = tokenNameProblem(name);
	if (problem) throw badRequest(problem, { name: problem });
	const token = generateToken();
	try {
		const row = await insertToken(db, { name: name.trim(), token_hash: hashToken(token), hint: tokenHint(token) });
		return { token, info: toInfo(row) };
	} catch (error) {
		if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
			const message = `An active token is already named "${name.trim()}". Choose another name, or revoke that token first.`;
			throw conflict(message);
		}
		throw error;
	}
}

export async function listTokens(db: Db): Promise<TokenInfo[]> {
	return (await listTokenRows(db)).map(toInfo);
}

/** Revokes an active token by id or by name. */
export async function revokeToken(db: Db, idOrName: string): Promise<TokenInfo> {
	const key = idOrName.trim();
	if (key === '') throw badRequest('Say which token to revoke: its name or its id.');
	const row = isUuid(key)
		? ((await revokeActiveToken(db, { id: key.toLowerCase() })) ?? (await revokeActiveToken(db, { name: key })))
		: await revokeActiveToken(db, { name: key });
	if (row) return toInfo(row);
	const byId = isUuid(key) ? await findTokenById(db, key.toLowerCase()) : undefined;
	if (byId?.revoked_at) throw conflict(`The token "${byId.name}" was already revoked.`);
	throw notFound(`No active token is named or has the id "${key}".`);
}

export type Authentication =
	| { ok: true; token: TokenInfo }
	| { ok: false; reason: 'unknown' }
	| { ok: false; reason: 'revoked'; token: TokenInfo };

/** Checks a token presented by a client: one indexed read by hash. */
export async function authenticate(db: Db, token: string): Promise<Authentication> {
	if (!looksLikeToken(token)) return { ok: false, reason: 'unknown' };
	const row = await findTokenByHash(db, hashToken(token));
	if (!row) return { ok: false, reason: 'unknown' };
	if (row.revoked_at) return { ok: false, reason: 'revoked', token: toInfo(row) };
	return { ok: true, token: toInfo(row) };
}

/**
 * VAPOR_BOOTSTRAP_TOKEN: a token chosen by whoever deploys the server (or by the tests),
 * stored like any other on start. A revoked one stays revoked: it is never re-activated.
 */
export async function ensureBootstrapToken(db: Db, token: string): Promise<'stored' | 'known' | 'name taken'> {
	const tokenHash = hashToken(token);
	if (await insertTokenIfAbsent(db, { name: BOOTSTRAP_TOKEN_NAME, token_hash: tokenHash, hint: tokenHint(token) }))
		return 'stored';
	return (await findTokenByHash(db, tokenHash)) ? 'known' : 'name taken';
}

export const BOOTSTRAP_TOKEN_NAME = 'VAPOR_BOOTSTRAP_TOKEN';
