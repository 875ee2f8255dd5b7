import type { Db } from '../db';
import { badRequest, conflict, notFound } from '../errors';
import {
	findTokenByHash,
	findTokenById,
	insertToken,
	insertTokenIfAbsent,
	listTokenRows,
	revokeActiveToken,
	setTokenOwner,
	type TokenRow
} from './tokens.repository';
import { CLI_ACTOR, recordAudit, type Actor } from './audit';
import type { Role, TokenScope } from './roles';
import { roleAccess, tokenAccess, type Access } from './roles';
import { generateToken, hashToken, looksLikeToken, tokenHint, tokenNameProblem } from './tokens';
import { isUuid } from '../../uuid';

/** A stored token as the Settings page and the CLI show it: never the token itself. */
export interface TokenInfo {
	id: string;
	name: string;
	hint: string;
	createdAt: string;
	revokedAt: string | null;
	scope: TokenScope;
	/** The owner's user name; null for tokens made by the command line or before accounts. */
	owner: string | null;
}

function toInfo(row: TokenRow): TokenInfo {
	return {
		id: row.id,
		name: row.name,
		hint: row.hint,
		scope: row.scope,
		owner: row.owner_name,
		createdAt: row.created_at.toISOString(),
		revokedAt: row.revoked_at ? row.revoked_at.toISOString() : null
	};
}

const UNIQUE_VIOLATION = '23505';

/** Who makes a token: a signed-in user (it owns the token), or the command line (nobody owns it). */
export interface TokenMaker {
	actor: Actor;
	owner: { id: string; role: Role } | undefined;
}

export const CLI_MAKER: TokenMaker = { actor: CLI_ACTOR, owner: undefined };

/** Creates a token; the returned `token` is the only time it exists in clear. */
export async function createToken(
	db: Db,
	name: string,
	{ maker = CLI_MAKER, scope = 'write' }: { maker?: TokenMaker; scope?: string } = {}
): Promise<{ token: string; info: TokenInfo }> {
	const problem = tokenNameProblem(name);
	if (problem) throw badRequest(problem, { name: problem });
	if (scope !== 'read' && scope !== 'write')
		throw badRequest("A token's scope is read or write.", { scope: 'Choose read or write.' });
	if (scope === 'write' && maker.owner && roleAccess(maker.owner.role) === 'read')
		throw badRequest('A viewer can make read tokens only: a token can do no more than its owner.', {
			scope: 'Viewers make read tokens only.'
		});
	const token = generateToken();
	try {
		const row = await insertToken(db, {
			name: name.trim(),
			token_hash: hashToken(token),
			hint: tokenHint(token),
			user_id: maker.owner?.id ?? null,
			scope
		});
		await recordAudit(db, maker.actor, 'token created', row);
		return { token, info: toInfo(row) };
	} catch (error) {
		if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
			const message = `An active token is already named "${name.trim()}". Choose another name, or revoke that token first.`;
			throw conflict(message);
		}
		throw error;
	}
}

/** Every token, or only the tokens of one owner. */
export async function listTokens(db: Db, ownerId?: string): Promise<TokenInfo[]> {
	return (await listTokenRows(db, ownerId)).map(toInfo);
}

/** Revokes an active token by id or by name; `ownerId` limits it to that user's tokens (non-admins). */
export async function revokeToken(
	db: Db,
	idOrName: string,
	{ actor = CLI_ACTOR, ownerId }: { actor?: Actor; ownerId?: string } = {}
): Promise<TokenInfo> {
	const key = idOrName.trim();
	if (key === '') throw badRequest('Say which token to revoke: its name or its id.');
	const row = isUuid(key)
		? ((await revokeActiveToken(db, { id: key.toLowerCase() }, ownerId)) ??
			(await revokeActiveToken(db, { name: key }, ownerId)))
		: await revokeActiveToken(db, { name: key }, ownerId);
	if (row) {
		await recordAudit(db, actor, 'token revoked', row);
		return toInfo(row);
	}
	const byId = isUuid(key) ? await findTokenById(db, key.toLowerCase()) : undefined;
	if (byId?.revoked_at) throw conflict(`The token "${byId.name}" was already revoked.`);
	throw notFound(`No active token is named or has the id "${key}".`);
}

export type Authentication =
	| { ok: true; token: TokenInfo; access: Access; owner: { id: string; username: string; role: Role } | undefined }
	| { ok: false; reason: 'unknown' }
	| { ok: false; reason: 'revoked'; token: TokenInfo };

/** Checks a token presented by a client: one indexed read by hash. */
export async function authenticate(db: Db, token: string): Promise<Authentication> {
	if (!looksLikeToken(token)) return { ok: false, reason: 'unknown' };
	const row = await findTokenByHash(db, hashToken(token));
	if (!row) return { ok: false, reason: 'unknown' };
	if (row.revoked_at) return { ok: false, reason: 'revoked', token: toInfo(row) };
	return {
		ok: true,
		token: toInfo(row),
		access: tokenAccess(row.scope, row.owner_role ?? undefined),
		owner:
			row.user_id && row.owner_name && row.owner_role
				? { id: row.user_id, username: row.owner_name, role: row.owner_role }
				: undefined
	};
}

/**
 * VAPOR_BOOTSTRAP_TOKEN: a token chosen by whoever deploys the server (or by the tests),
 * stored like any other on start. A revoked one stays revoked: it is never re-activated.
 */
export async function ensureBootstrapToken(
	db: Db,
	token: string,
	ownerId?: string
): Promise<'stored' | 'known' | 'name taken'> {
	const tokenHash = hashToken(token);
	const values = {
		name: BOOTSTRAP_TOKEN_NAME,
		token_hash: tokenHash,
		hint: tokenHint(token),
		user_id: ownerId ?? null
	};
	if (await insertTokenIfAbsent(db, values)) return 'stored';
	if (!(await findTokenByHash(db, tokenHash))) return 'name taken';
	if (ownerId) await setTokenOwner(db, tokenHash, ownerId);
	return 'known';
}

export const BOOTSTRAP_TOKEN_NAME = 'VAPOR_BOOTSTRAP_TOKEN';
