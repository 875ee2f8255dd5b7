import { describe, expect, it } from 'vitest';
import { epochOfStep, MAX_POINTS_PER_REQUEST, validateFinish, validateMetricsBody } from './ingest-input';

const ok = (input: unknown) => {
	const result = validateMetricsBody(input);
	if (!result.ok) throw new Error(result.error);
	return result.value;
};
const refused = (input: unknown) => {
	const result = validateMetricsBody(input);
	if (result.ok) throw new Error('expected a refusal');
	return result;
};

describe('validateMetricsBody', () => {
	it("keeps today's points as the keys loss and accuracy, filling what was left out", () => {
		expect(
			ok([
				{ step: 1, loss: 0.7 },
				{ step: 3, epoch: 2, loss: -0.5, accuracy: 1, recordedAt: '2026-11-29T03:00:00.123456+01:00' }
			])
		).toEqual([
			{ step: 1, epoch: undefined, recordedAt: undefined, values: { loss: 0.7 }, signals: [] },
			{
				step: 3,
				epoch: 2,
				recordedAt: '2026-11-29T03:00:00.123456+01:00',
				values: { loss: -0.5, accuracy: 1 },
				signals: []
			}
		]);
		expect(ok([])).toEqual([]);
	});

	it('takes named points and rows in any mix, one row per step', () => {
		expect(
			ok([
				{ step: 1, key: 'train/loss', value: 0.9 },
				{ step: 1, key: 'lr', value: 1e-4 },
				{ step: 1, metrics: { 'system/gpu.0.util': 97 } },
				{ step: 2, metrics: { 'train/loss': 0.8, 'val/loss': 'NaN' } },
				{ step: 100, key: 'val/loss', value: 1.1 }
			])
		).toEqual([
			{
				step: 1,
				epoch: undefined,
				recordedAt: undefined,
				values: { 'train/loss': 0.9, lr: 1e-4, 'system/gpu.0.util': 97 },
				signals: []
			},
			{
				step: 2,
				epoch: undefined,
				recordedAt: undefined,
				values: { 'train/loss': 0.8, 'val/loss': Number.NaN },
				signals: []
			},
			{ step: 100, epoch: undefined, recordedAt: undefined, values: { 'val/loss': 1.1 }, signals: [] }
		]);
	});

	it('refuses keys that are too long or hold other characters, and values that are not numbers', () => {
		expect(refused([{ step: 1, key: 'a'.repeat(251), value: 1 }]).error).toMatch(/1 to 250 characters/);
		expect(refused([{ step: 1, key: 'loss\u0000', value: 1 }]).error).toMatch(/may only hold letters/);
		expect(refused([{ step: 1, metrics: { 'a,b': 1 } }]).error).toMatch(/may only hold letters/);
		expect(Object.keys(refused([{ step: 1, metrics: { 'a,b': 1 } }]).fields ?? {})).toEqual(['[0].metrics']);
		expect(Object.keys(refused([{ step: 1, key: 'a,b', value: 1 }]).fields ?? {})).toEqual(['[0].key']);
		expect(refused([{ step: 1, key: 'x', value: 'high' }]).error).toMatch(/value must be a number/);
		expect(ok([{ step: 1, key: 'train/loss: ema 0.9-x_y', value: 1 }])).toHaveLength(1);
	});

	it('refuses a step that does not grow within one key, but not across keys', () => {
		expect(
			refused([
				{ step: 5, key: 'train/loss', value: 1 },
				{ step: 5, key: 'train/loss', value: 1 }
			]).error
		).toMatch(/step 5 of "train\/loss" does not come after its step 5/);
		expect(
			ok([
				{ step: 501, key: 'train/loss', value: 1 },
				{ step: 500, key: 'val/loss', value: 1 }
			])
		).toHaveLength(2);
	});

	it('takes a non-finite value; flagged, it is a failure signal', () => {
		expect(
			ok([
				{ step: 1, loss: 1 },
				{ step: 2, loss: 'NaN', nonFinite: true }
			])[1]
		).toMatchObject({ values: { loss: Number.NaN }, signals: ['loss'] });
		expect(ok([{ step: 2, loss: '-Infinity', nonFinite: true }])[0]!.values.loss).toBe(Number.NEGATIVE_INFINITY);
		expect(ok([{ step: 2, key: 'val/loss', value: 'Infinity' }])[0]!.signals).toEqual([]);
		expect(refused([{ step: 1, loss: 'NaN' }]).fields['[0].loss']).toMatch(/"nonFinite": true/);
		expect(refused([{ step: 1, loss: 'nan', nonFinite: true }]).fields['[0].loss']).toMatch(/finite number/);
		expect(refused([{ step: 1, loss: 0.5, nonFinite: true }]).fields['[0].nonFinite']).toMatch(/must then be "NaN"/);
	});

	it.each([
		['a missing step', { loss: 1 }, 'step', /step is required/],
		['a text step', { step: '1', loss: 1 }, 'step', /step must be a number/],
		['a fractional step', { step: 1.5, loss: 1 }, 'step', /whole number/],
		['step 0', { step: 0, loss: 1 }, 'step', /at least 1/],
		['a step past int4', { step: 2 ** 31, loss: 1 }, 'step', /at most 2147483647/],
		['epoch 0', { step: 1, epoch: 0, loss: 1 }, 'epoch', /epoch must be at least 1/],
		['a missing loss', { step: 1 }, 'loss', /loss is required/],
		['a null loss', { step: 1, loss: null }, 'loss', /finite number/],
		['accuracy 93', { step: 1, loss: 1, accuracy: 93 }, 'accuracy', /0.93, not 93/],
		['accuracy below 0', { step: 1, loss: 1, accuracy: -0.1 }, 'accuracy', /from 0 to 1/],
		['accuracy as text', { step: 1, loss: 1, accuracy: '0.5' }, 'accuracy', /number from 0 to 1/],
		['a time without a zone', { step: 1, loss: 1, recordedAt: '2026-11-29T03:00:00' }, 'recordedAt', /time zone/],
		['a time that is not one', { step: 1, loss: 1, recordedAt: 'yesterday' }, 'recordedAt', /ISO 8601/],
		['the year 0', { step: 1, loss: 1, recordedAt: '0000-01-01T00:00:00Z' }, 'recordedAt', /year 1 to 9999/],
		['an offset of +23:59', { step: 1, loss: 1, recordedAt: '2026-11-29T03:00:00+23:59' }, 'recordedAt', /±14:00/],
		[
			'9999 pushed past by its offset',
			{ step: 1, loss: 1, recordedAt: '9999-12-31T23:00:00-05:00' },
			'recordedAt',
			/9999/
		],
		['nonFinite as text', { step: 1, loss: 1, nonFinite: 'yes' }, 'nonFinite', /true or false/],
		['an unknown field', { step: 1, loss: 1, lr: 0.1 }, 'lr', /unknown field "lr"/]
	])('refuses %s, naming the point and the field', (_, point, field, message) => {
		const result = refused([point]);
		expect(result.fields[`[0].${field}`]).toMatch(message);
		expect(result.error).toMatch(/^Point 1/);
	});

	it('refuses what is not an array of objects', () => {
		expect(refused({ step: 1, loss: 1 }).error).toMatch(/JSON array/);
		expect(refused([7]).fields['[0]']).toMatch(/JSON object/);
	});

	it('counts problems but lists at most 20 of them', () => {
		const result = refused(Array.from({ length: 50 }, (_, i) => ({ step: i + 1, loss: 'x' })));
		expect(result.error).toMatch(/^50 problems in the points\. Point 1 \(step 1\): loss must be/);
		expect(Object.keys(result.fields)).toHaveLength(20);
	});

	it('says 413 with the limit for too many points', () => {
		const result = refused(Array.from({ length: MAX_POINTS_PER_REQUEST + 1 }, (_, i) => ({ step: i + 1, loss: 1 })));
		expect(result).toMatchObject({ tooLarge: true });
		expect(result.error).toMatch(/At most 10,000 values per request/);
		expect(ok(Array.from({ length: MAX_POINTS_PER_REQUEST }, (_, i) => ({ step: i + 1, loss: 1 })))).toHaveLength(
			10_000
		);
		// A row of 20 keys counts 20.
		const row = Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`k${k}`, 1]));
		expect(refused(Array.from({ length: 501 }, (_, i) => ({ step: i + 1, metrics: row })))).toMatchObject({
			tooLarge: true
		});
	});
});

describe('validateFinish', () => {
	it('takes completed, or failed with an optional reason', () => {
		expect(validateFinish({ status: 'completed' })).toEqual({ ok: true, value: { status: 'completed' } });
		expect(validateFinish({ status: 'failed', error: ' OOM ' })).toEqual({
			ok: true,
			value: { status: 'failed', error: 'OOM' }
		});
	});

	it('refuses other statuses, a reason on a completed run, and unknown fields', () => {
		expect(validateFinish({ status: 'stopped' })).toMatchObject({
			ok: false,
			fields: { status: expect.stringMatching(/…\/stop/) }
		});
		expect(validateFinish({ status: 'completed', error: 'x' })).toMatchObject({
			ok: false,
			fields: { error: expect.stringMatching(/only for a failed run/) }
		});
		expect(validateFinish({ status: 'failed', reason: 'x' })).toMatchObject({
			ok: false,
			fields: { reason: 'Unknown field "reason".' }
		});
		expect(validateFinish([])).toMatchObject({ ok: false, error: expect.stringMatching(/Send \{ "status"/) });
	});
});

it('derives the epoch from the step', () => {
	expect([1, 100, 101, 250].map((step) => epochOfStep(step, 100))).toEqual([1, 1, 2, 3]);
});
