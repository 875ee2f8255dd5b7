import { describe, expect, it } from 'vitest';
import { DEFAULT_PASSWORD_COST, hashPassword, passwordProblem, setPasswordCost, verifyPassword } from './passwords';

describe('passwords', () => {
	it('hash with scrypt and a salt, and verify only the same password', async () => {
		const a = await hashPassword('correct horse battery');
		const b = await hashPassword('correct horse battery');
		expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]{43}$/);
		expect(a).not.toBe(b);
		expect(await verifyPassword('correct horse battery', a)).toBe(true);
		expect(await verifyPassword('correct horse batterx', a)).toBe(false);
		expect(await verifyPassword('anything', 'not a hash')).toBe(false);
	});

	it('hash at a lowered cost (test servers), and hashes made at another cost still verify', async () => {
		const strong = await hashPassword('correct horse battery');
		setPasswordCost(10);
		try {
			const cheap = await hashPassword('correct horse battery');
			expect(cheap).toMatch(/^scrypt\$1024\$8\$1\$/);
			expect(await verifyPassword('correct horse battery', cheap)).toBe(true);
			expect(await verifyPassword('correct horse battery', strong)).toBe(true);
		} finally {
			setPasswordCost(DEFAULT_PASSWORD_COST);
		}
		expect(await hashPassword('correct horse battery')).toMatch(/^scrypt\$32768\$/);
	});

	it('need 10 characters and must not be the user name', () => {
		expect(passwordProblem('short')).toMatch(/at least 10/);
		expect(passwordProblem('administrator', 'Administrator')).toMatch(/user name/);
		expect(passwordProblem('a long enough one')).toBeUndefined();
	});
});
