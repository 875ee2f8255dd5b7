import { createHash, randomBytes } from 'node:crypto';
import { unsafeTextProblem } from '../../training/text-safety';

/** Every Vapor API token starts with this, so that it is recognisable (and findable by secret scanners). */
export const TOKEN_PREFIX = 'vpr_';
/** 32 random bytes, base64url: 43 characters after the prefix. */
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^vpr_[A-Za-z0-9_-]{32,200}$/;

export function generateToken(): string {
	return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Tokens are high-entropy random strings, so a plain SHA-256 is enough (no slow password hash needed). */
export function hashToken(token: string): string {
	return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What a person sees of a stored token: "vpr_3kF9…x2Qa". */
export function tokenHint(token: string): string {
	return `${token.slice(0, 8)}…${token.slice(-4)}`;
}

/** A string that can be a Vapor token at all (checked before any database read). */
export function looksLikeToken(value: string): boolean {
	return TOKEN_PATTERN.test(value);
}

export type BearerHeader = { kind: 'missing' } | { kind: 'malformed' } | { kind: 'token'; token: string };

/** Reads `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 7235). */
export function parseBearer(header: string | null): BearerHeader {
	if (header === null || header.trim() === '') return { kind: 'missing' };
	const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
	return match ? { kind: 'token', token: match[1]! } : { kind: 'malformed' };
}

export const TOKEN_NAME_MAX = 100;

/** A token's name, as the Settings page and the CLI take it; undefined when it is fine. */
export function tokenNameProblem(name: string): string | undefined {
	if (name.trim() === '') return 'Give the token a name, such as the machine or script that uses it.';
	if (name.trim().length > TOKEN_NAME_MAX) return `A token name must be at most ${TOKEN_NAME_MAX} characters.`;
	return unsafeTextProblem('A token name', name);
}
