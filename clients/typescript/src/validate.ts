/** What the server refuses, checked at the log() call so that the caller sees it with key and step. */

/** 1–250 letters, digits, `_ - . / :` and spaces, as the server's KEY_PATTERN. */
export const KEY_PATTERN = /^[A-Za-z0-9_\-./: ]{1,250}$/;
export const MAX_KEYS_PER_RUN = 1_000;
export const MAX_STEP = 2_147_483_647;

/** JSON has no NaN: the API takes these strings instead. */
export type NonFinite = 'NaN' | 'Infinity' | '-Infinity';
export type WireValue = number | NonFinite;

/** A value, key or step the server would refuse; thrown at the log() call that gave it. */
export class BadValue extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'BadValue';
	}
}

const quote = (text: string) => JSON.stringify(text);

export function checkKey(key: unknown): string {
	if (typeof key !== 'string') throw new BadValue(`metric key ${String(key)} must be text, such as "train/loss"`);
	if (!KEY_PATTERN.test(key)) {
		if (key.length < 1 || key.length > 250)
			throw new BadValue(
				`metric key ${quote(key.slice(0, 40))} must be 1 to 250 characters long (it is ${key.length})`
			);
		throw new BadValue(
			`metric key ${quote(key.slice(0, 60))} may only hold letters, digits, "_", "-", ".", "/", ":" and spaces`
		);
	}
	return key;
}

/** Vapor shows these as percentages of a fraction: 93 where 0.93 was meant is refused. */
export function isAccuracyKey(key: string): boolean {
	const last = key.slice(key.lastIndexOf('/') + 1);
	return last === 'accuracy' || last === 'acc';
}

function describe(value: unknown): string {
	if (typeof value === 'string') return quote(value.length > 40 ? `${value.slice(0, 40)}…` : value);
	if (value === null || value === undefined || typeof value === 'boolean') return String(value);
	if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
	return typeof value;
}

/** The JSON form of one value: a number, or "NaN" / "Infinity" / "-Infinity". */
export function toWire(key: string, step: number, value: unknown): WireValue {
	let number: number;
	if (typeof value === 'number') number = value;
	else if (typeof value === 'bigint') number = Number(value);
	else throw new BadValue(`${quote(key)} at step ${step}: ${describe(value)} is not a number`);
	if (Number.isFinite(number)) {
		if (isAccuracyKey(key) && !(number >= 0 && number <= 1))
			throw new BadValue(`${quote(key)} at step ${step}: ${number} is not a fraction from 0 to 1 (0.93, not 93)`);
		return number;
	}
	return Number.isNaN(number) ? 'NaN' : number > 0 ? 'Infinity' : '-Infinity';
}

export function checkStep(step: unknown): number {
	if (typeof step !== 'number' || !Number.isInteger(step))
		throw new BadValue(`step ${describe(step) === 'number' ? step : describe(step)} must be a whole number`);
	if (step < 1 || step > MAX_STEP)
		throw new BadValue(`step ${step} must be between 1 and ${MAX_STEP} (Vapor counts steps from 1; log step + 1)`);
	return step;
}
