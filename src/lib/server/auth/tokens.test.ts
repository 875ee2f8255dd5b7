import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, looksLikeToken, parseBearer, tokenHint, tokenNameProblem } from './tokens';

describe('API tokens', () => {
	it('are prefixed, random and recognisable', () => {
		const a = generateToken();
		const b = generateToken();
		expect(a).toMatch(/^vpr_[A-Za-z0-9_-]{43}$/);
		expect(a).not.toBe(b);
		expect(looksLikeToken(a)).toBe(true);
		expect(looksLikeToken('vpr_short')).toBe(false);
		expect(looksLikeToken(`xyz_${a.slice(4)}`)).toBe(false);
	});

	it('hash to a stable SHA-256 and show only a hint', () => {
		const token = generateToken();
		expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
		expect(hashToken(token)).toBe(hashToken(token));
		expect(hashToken(token)).not.toBe(hashToken(generateToken()));
		expect(tokenHint(token)).toBe(`${token.slice(0, 8)}…${token.slice(-4)}`);
		expect(tokenHint(token)).not.toContain(token.slice(8, -4));
	});

	it('are read from a Bearer header', () => {
		expect(parseBearer(null)).toEqual({ kind: 'missing' });
		expect(parseBearer('  ')).toEqual({ kind: 'missing' });
		expect(parseBearer('Bearer vpr_abc')).toEqual({ kind: 'token', token: 'vpr_abc' });
		expect(parseBearer('bearer   vpr_abc ')).toEqual({ kind: 'token', token: 'vpr_abc' });
		expect(parseBearer('Basic dXNlcjpwYXNz')).toEqual({ kind: 'malformed' });
		expect(parseBearer('Bearer')).toEqual({ kind: 'malformed' });
		expect(parseBearer('Bearer a b')).toEqual({ kind: 'malformed' });
	});

	it('need a name of 1 to 100 characters', () => {
		expect(tokenNameProblem('laptop')).toBeUndefined();
		expect(tokenNameProblem('  ')).toMatch(/Give the token a name/);
		expect(tokenNameProblem('x'.repeat(101))).toMatch(/at most 100/);
	});
});
