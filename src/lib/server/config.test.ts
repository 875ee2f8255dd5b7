import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config';

describe('readConfig flags', () => {
	it('makes demo jobs unless VAPOR_DEMO says 0', () => {
		expect(readConfig({}).demo).toBe(true);
		expect(readConfig({ VAPOR_DEMO: '' }).demo).toBe(true);
		expect(readConfig({ VAPOR_DEMO: '1' }).demo).toBe(true);
		expect(readConfig({ VAPOR_DEMO: ' 0 ' }).demo).toBe(false);
	});

	it('refuses a VAPOR_DEMO that is not 1 or 0, naming it, instead of making demo jobs', () => {
		for (const value of ['false', 'no', 'off', 'true']) {
			expect(() => readConfig({ VAPOR_DEMO: value })).toThrow(ConfigError);
			expect(() => readConfig({ VAPOR_DEMO: value })).toThrow(`VAPOR_DEMO must be 1 or 0; it is "${value}".`);
		}
	});

	it('stops on VAPOR_READ_TOKEN_REQUIRED, which VAPOR_AUTH replaced, saying so', () => {
		expect(() => readConfig({ VAPOR_READ_TOKEN_REQUIRED: '1' })).toThrow(/VAPOR_READ_TOKEN_REQUIRED is gone/);
	});

	it('hashes passwords at scrypt 2^15 unless VAPOR_SCRYPT_COST says otherwise, within 10–20', () => {
		expect(readConfig({}).scryptCost).toBe(15);
		expect(readConfig({ VAPOR_SCRYPT_COST: '10' }).scryptCost).toBe(10);
		expect(() => readConfig({ VAPOR_SCRYPT_COST: '4' })).toThrow(/VAPOR_SCRYPT_COST/);
	});
});
