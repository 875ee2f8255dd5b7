import { describe, expect, it } from 'vitest';
import { KEY_PATTERN as SERVER_KEY_PATTERN } from '../../../src/lib/training/metrics';
import { BadValue, checkKey, checkStep, KEY_PATTERN, toWire } from './validate';

describe('what log() refuses at the call', () => {
	it('keys: the server pattern exactly, with a message naming the key', () => {
		expect(KEY_PATTERN.source).toBe(SERVER_KEY_PATTERN.source);
		for (const key of ['train/loss', 'system/gpu.0.util', 'a b:c-d_e', 'x'.repeat(250)])
			expect(checkKey(key)).toBe(key);
		expect(() => checkKey('loss?')).toThrow(/metric key "loss\?" may only hold letters, digits/);
		expect(() => checkKey('')).toThrow(/must be 1 to 250 characters long \(it is 0\)/);
		expect(() => checkKey('x'.repeat(251))).toThrow(/\(it is 251\)/);
		expect(() => checkKey(7)).toThrow(BadValue);
	});

	it('values: numbers pass, non-finite ones take the API form, the rest throw with key and step', () => {
		expect(toWire('train/loss', 3, 0.25)).toBe(0.25);
		expect(toWire('n', 3, 10n)).toBe(10);
		expect(toWire('a', 1, Number.NaN)).toBe('NaN');
		expect(toWire('a', 1, Number.POSITIVE_INFINITY)).toBe('Infinity');
		expect(toWire('a', 1, Number.NEGATIVE_INFINITY)).toBe('-Infinity');
		expect(() => toWire('note', 3, 'hello')).toThrow('"note" at step 3: "hello" is not a number');
		expect(() => toWire('flag', 5, true)).toThrow('"flag" at step 5: true is not a number');
		expect(() => toWire('x', 5, null)).toThrow('null is not a number');
		expect(() => toWire('x', 5, undefined)).toThrow('undefined is not a number');
		expect(() => toWire('x', 5, { value: 1 })).toThrow('an object (Object) is not a number');
	});

	it('accuracy-like keys must be fractions (93 where 0.93 was meant)', () => {
		expect(toWire('train/accuracy', 2, 0.93)).toBe(0.93);
		expect(toWire('val/acc', 2, 1)).toBe(1);
		expect(() => toWire('train/accuracy', 2, 93)).toThrow(
			'"train/accuracy" at step 2: 93 is not a fraction from 0 to 1 (0.93, not 93)'
		);
		expect(() => toWire('acc', 2, -0.1)).toThrow(/not a fraction/);
		// Only the last part of the key counts: these are not accuracies.
		expect(toWire('accuracy/top5_count', 2, 93)).toBe(93);
		expect(toWire('train/accuracy_gap', 2, 3)).toBe(3);
		// A diverged accuracy is a gap like any other non-finite value.
		expect(toWire('val/accuracy', 2, Number.NaN)).toBe('NaN');
	});

	it('steps: whole numbers from 1', () => {
		expect(checkStep(1)).toBe(1);
		expect(checkStep(2_147_483_647)).toBe(2_147_483_647);
		expect(() => checkStep(0)).toThrow(/step 0 must be between 1 and 2147483647 .*log step \+ 1/);
		expect(() => checkStep(2_147_483_648)).toThrow(/must be between 1/);
		expect(() => checkStep(1.5)).toThrow('step 1.5 must be a whole number');
		expect(() => checkStep('3')).toThrow('step "3" must be a whole number');
	});
});
