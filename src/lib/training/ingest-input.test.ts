import { describe, expect, it } from 'vitest';
import { epochOfStep, MAX_POINTS_PER_REQUEST, validateFinish, validatePoints } from './ingest-input';

const ok = (input: unknown) => {
	const result = validatePoints(input);
	if (!result.ok) throw new Error(result.error);
	return result.value;
};
const refused = (input: unknown) => {
	const result = validatePoints(input);
	if (result.ok) throw new Error('expected a refusal');
	return result;
};

describe('validatePoints', () => {
	it('keeps valid points, filling what was left out', () => {
		expect(
			ok([
				{ step: 1, loss: 0.7 },
				{ step: 3, epoch: 2, loss: -0.5, accuracy: 1, recordedAt: '2026-11-29T03:00:00.123456+01:00' }
			])
		).toEqual([
			{ step: 1, epoch: undefined, loss: 0.7, accuracy: null, recordedAt: undefined, nonFinite: false },
			{ step: 3, epoch: 2, loss: -0.5, accuracy: 1, recordedAt: '2026-11-29T03:00:00.123456+01:00', nonFinite: false }
		]);
		expect(ok([])).toEqual([]);
	});

	it('takes a non-finite loss only as a marked failure signal, and only last', () => {
		expect(
			ok([
				{ step: 1, loss: 1 },
				{ step: 2, loss: 'NaN', nonFinite: true }
			])[1]
		).toMatchObject({ loss: Number.NaN, nonFinite: true });
		expect(ok([{ step: 2, loss: '-Infinity', nonFinite: true }])[0]!.loss).toBe(Number.NEGATIVE_INFINITY);
		expect(refused([{ step: 1, loss: 'NaN' }]).fields['[0].loss']).toMatch(/"nonFinite": true/);
		expect(refused([{ step: 1, loss: 'nan', nonFinite: true }]).fields['[0].loss']).toMatch(/finite number/);
		expect(refused([{ step: 1, loss: 0.5, nonFinite: true }]).fields['[0].nonFinite']).toMatch(/must then be "NaN"/);
		expect(
			refused([
				{ step: 1, loss: 'NaN', nonFinite: true },
				{ step: 2, loss: 1 }
			]).error
		).toMatch(/must be the last point/);
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

	it('refuses steps that do not increase within the request', () => {
		const result = refused([
			{ step: 1, loss: 1 },
			{ step: 2, loss: 1 },
			{ step: 2, loss: 1 }
		]);
		expect(result.fields['[2].step']).toMatch(/step 2 does not come after step 2/);
		expect(
			refused([
				{ step: 5, loss: 1 },
				{ step: 4, loss: 1 }
			]).error
		).toMatch(/Steps must increase/);
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
		expect(result.error).toMatch(/At most 10,000 points per request; this one has 10,001/);
		expect(ok(Array.from({ length: MAX_POINTS_PER_REQUEST }, (_, i) => ({ step: i + 1, loss: 1 })))).toHaveLength(
			10_000
		);
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
