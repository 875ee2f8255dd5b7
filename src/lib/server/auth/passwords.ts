import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords are hashed with scrypt (node:crypto, memory-hard): N=2^15, r=8, p=1 uses 32 MiB
 * per hash, which is what OWASP's cheat sheet lists as a minimum for scrypt. The parameters
 * are stored with each hash, so they can be raised later without locking anyone out.
 */
export const DEFAULT_PASSWORD_COST = 15;
const PARAMS = { N: 2 ** DEFAULT_PASSWORD_COST, r: 8, p: 1 };

/**
 * log2 of scrypt's N for new hashes (VAPOR_SCRYPT_COST). Test servers lower it: at 2^15 one
 * hash is about a CPU second on this machine, and the suites start a hundred servers that
 * each hash their admin's password and sign in. Hashes made at another cost still verify.
 */
export function setPasswordCost(logN: number): void {
	PARAMS.N = 2 ** logN;
}
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const MAX_MEMORY = 96 * 1024 * 1024;

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
	return new Promise((resolve, reject) =>
		scrypt(password.normalize('NFKC'), salt, KEY_BYTES, { ...options, maxmem: MAX_MEMORY }, (error, key) =>
			error ? reject(error) : resolve(key)
		)
	);
}

export async function hashPassword(password: string): Promise<string> {
	const salt = randomBytes(SALT_BYTES);
	const key = await derive(password, salt, PARAMS);
	return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
	const [kind, n, r, p, salt, key] = stored.split('$');
	if (kind !== 'scrypt' || !salt || !key) return false;
	const expected = Buffer.from(key, 'base64url');
	const actual = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
	return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** What is wrong with a new password, in words; undefined when it is fine. */
export function passwordProblem(password: string, username?: string): string | undefined {
	if (password.length < PASSWORD_MIN) return `A password needs at least ${PASSWORD_MIN} characters.`;
	if (password.length > PASSWORD_MAX) return `A password can have at most ${PASSWORD_MAX} characters.`;
	if (username && password.trim().toLowerCase() === username.trim().toLowerCase())
		return 'The password must not be the user name.';
	return undefined;
}

/** A password checked against nothing, so that an unknown user name costs as long as a known one. */
let decoy: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
	decoy ??= hashPassword('decoy password that matches nothing');
	await verifyPassword(password, await decoy);
}
