import type { Db } from '../db';

export interface AuditEntry {
	id: string;
	at: string;
	action: string;
	actor: string;
	tokenName: string | null;
	tokenHint: string | null;
	address: string | null;
}

/** Who acts, and from where, as the audit log records it. */
export interface Actor {
	/** The user's id, or undefined for the command line and an open server. */
	userId: string | undefined;
	name: string;
	address: string | null;
}

export const CLI_ACTOR: Actor = { userId: undefined, name: 'command line (npm run token)', address: null };

export async function recordAudit(
	db: Db,
	actor: Actor,
	action: 'token created' | 'token revoked',
	token: { id: string; name: string; hint: string }
): Promise<void> {
	await db
		.insertInto('audit_log')
		.values({
			action,
			actor: actor.name,
			token_id: token.id,
			token_name: token.name,
			token_hint: token.hint,
			address: actor.address
		})
		.execute();
}

export async function listAudit(db: Db, limit = 100): Promise<AuditEntry[]> {
	const rows = await db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit).execute();
	return rows.map((row) => ({
		id: String(row.id),
		at: row.at.toISOString(),
		action: row.action,
		actor: row.actor,
		tokenName: row.token_name,
		tokenHint: row.token_hint,
		address: row.address
	}));
}
