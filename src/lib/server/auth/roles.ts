import type { Role, TokenScope } from '../db/database';

export type { Role, TokenScope };

export const ROLES: readonly Role[] = ['viewer', 'editor', 'admin'];

/** What a request may do, from the least to the most. */
export type Access = 'read' | 'write' | 'admin';

const RANK: Record<Access, number> = { read: 0, write: 1, admin: 2 };

/** viewer reads; editor also writes (creates, starts, stops, clones, makes its own tokens); admin also manages users and every token. */
export function roleAccess(role: Role): Access {
	return role === 'admin' ? 'admin' : role === 'editor' ? 'write' : 'read';
}

/** A token never does more than its scope, nor more than its owner's role today. */
export function tokenAccess(scope: TokenScope, ownerRole: Role | undefined): Access {
	const owner: Access = ownerRole ? roleAccess(ownerRole) : 'write';
	const byScope: Access = scope === 'write' ? 'write' : 'read';
	return RANK[owner] < RANK[byScope] ? owner : byScope;
}

export function allows(granted: Access, needed: Access): boolean {
	return RANK[granted] >= RANK[needed];
}

export function isRole(value: unknown): value is Role {
	return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export const ROLE_LABELS: Record<Role, string> = {
	viewer: 'Viewer: reads everything',
	editor: 'Editor: also creates, starts and stops jobs, and makes its own tokens',
	admin: 'Admin: also manages users and every token'
};
