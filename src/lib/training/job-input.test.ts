import { describe, expect, it } from 'vitest';
import { newJobInputFromForm, validateNewJob } from './job-input';

const valid = { name: 'run', baseModel: 'bert-base', dataset: 'imdb', epochs: 3, learningRate: 3e-4, batchSize: 32 };

function form(entries: Record<string, string>): FormData {
	const data = new FormData();
	for (const [key, value] of Object.entries(entries)) data.set(key, value);
	return data;
}

describe('validateNewJob', () => {
	it('trims the name and keeps valid values', () => {
		const result = validateNewJob({ ...valid, name: '  padded  ' });
		const { name: _, ...hyperparameters } = valid;
		expect(result).toEqual({
			ok: true,
			value: {
				...valid,
				name: 'padded',
				source: 'simulated',
				stepsPerEpoch: 100,
				config: hyperparameters,
				tags: [],
				note: ''
			}
		});
	});

	it('adds the five hyperparameters to a given config, and refuses a config that contradicts them', () => {
		const result = validateNewJob({ ...valid, config: { optimizer: { name: 'adam' }, epochs: 3 }, tags: ['a'] });
		expect(result).toMatchObject({
			ok: true,
			value: { config: { optimizer: { name: 'adam' }, epochs: 3, learningRate: 3e-4, batchSize: 32 }, tags: ['a'] }
		});
		expect(validateNewJob({ ...valid, config: { learningRate: 0.1 } })).toMatchObject({
			ok: false,
			fields: { config: expect.stringMatching(/config.learningRate differs/) }
		});
		expect(validateNewJob({ ...valid, config: 'lr=1' })).toMatchObject({
			ok: false,
			fields: { config: expect.any(String) }
		});
	});

	it('rejects NaN and infinite numbers', () => {
		for (const learningRate of [Number.NaN, Number.POSITIVE_INFINITY]) {
			const result = validateNewJob({ ...valid, learningRate });
			expect(result.ok).toBe(false);
		}
	});

	it('says what is missing', () => {
		const result = validateNewJob({ name: 'x' });
		expect(result.ok).toBe(false);
		if (!result.ok) {
			expect(result.fields.baseModel).toMatch(/base model from the catalogue/);
			expect(result.fields.dataset).toMatch(/dataset from the catalogue/);
			expect(result.fields.epochs).toBeUndefined();
		}
	});

	it('takes an external job with free-text model and dataset and its own epoch length', () => {
		const result = validateNewJob({
			name: 'iris',
			source: 'external',
			baseModel: ' logistic regression ',
			stepsPerEpoch: 12
		});
		expect(result).toEqual({
			ok: true,
			value: {
				name: 'iris',
				source: 'external',
				baseModel: 'logistic regression',
				dataset: 'custom',
				epochs: 3,
				stepsPerEpoch: 12,
				learningRate: 3e-4,
				batchSize: 32,
				// Only what the script said is recorded as config.
				config: { baseModel: 'logistic regression' },
				tags: [],
				note: '',
				primaryMetric: 'loss'
			}
		});
	});

	it('refuses an unknown source, and stepsPerEpoch on a simulated job', () => {
		const unknown = validateNewJob({ ...valid, source: 'cron' });
		expect(unknown).toMatchObject({
			ok: false,
			fields: { source: expect.stringMatching(/"simulated" .* or "external"/) }
		});
		const steps = validateNewJob({ ...valid, stepsPerEpoch: 12 });
		expect(steps).toMatchObject({
			ok: false,
			fields: { stepsPerEpoch: expect.stringMatching(/leave stepsPerEpoch out/) }
		});
		const zero = validateNewJob({ name: 'x', source: 'external', stepsPerEpoch: 0 });
		expect(zero).toMatchObject({
			ok: false,
			fields: { stepsPerEpoch: expect.stringMatching(/between 1 and 1000000/) }
		});
	});

	it('refuses NUL, control and bidi characters in names, naming the field', () => {
		const simulated = { baseModel: 'resnet-18', dataset: 'mnist' };
		const nul = validateNewJob({ ...simulated, name: 'a\u0000b' });
		expect(nul).toMatchObject({ ok: false, fields: { name: expect.stringMatching(/NUL/) } });
		const bidi = validateNewJob({ ...simulated, name: 'invoice\u202etxt.exe' });
		expect(bidi).toMatchObject({ ok: false, fields: { name: expect.stringMatching(/bidirectional/) } });
		const external = validateNewJob({ name: 'ok', source: 'external', baseModel: 'x\u0000', dataset: 'y\u2066' });
		expect(external).toMatchObject({
			ok: false,
			fields: { baseModel: expect.stringMatching(/NUL/), dataset: expect.stringMatching(/bidirectional/) }
		});
	});

	it('rejects a body that is not an object', () => {
		for (const input of [null, 'job', 7, [valid]]) {
			const result = validateNewJob(input);
			expect(result).toMatchObject({ ok: false, error: 'The job must be a JSON object.' });
		}
	});
});

describe('newJobInputFromForm', () => {
	it('reads the source and, for an external job only, the steps per epoch', () => {
		const external = newJobInputFromForm(
			form({
				name: 'n',
				source: 'external',
				baseModel: 'mlp',
				dataset: 'iris',
				epochs: '5',
				learningRate: '0.1',
				batchSize: '8',
				stepsPerEpoch: '12'
			})
		);
		expect(validateNewJob(external)).toMatchObject({
			ok: true,
			value: { source: 'external', stepsPerEpoch: 12, dataset: 'iris' }
		});
		const simulated = newJobInputFromForm(
			form({
				name: 'n',
				baseModel: 'bert-base',
				dataset: 'imdb',
				epochs: '5',
				learningRate: '0.1',
				batchSize: '8',
				stepsPerEpoch: '12'
			})
		);
		expect(simulated).not.toHaveProperty('stepsPerEpoch');
		expect(validateNewJob(simulated)).toMatchObject({ ok: true, value: { source: 'simulated', stepsPerEpoch: 100 } });
	});

	it('turns numeric text into numbers, including exponent notation', () => {
		const input = newJobInputFromForm(
			form({
				name: 'n',
				baseModel: 'bert-base',
				dataset: 'imdb',
				epochs: ' 12 ',
				learningRate: '3e-4',
				batchSize: '64'
			})
		);
		expect(input).toMatchObject({ epochs: 12, learningRate: 0.0003, batchSize: 64 });
		expect(validateNewJob(input).ok).toBe(true);
	});

	it('keeps unreadable or empty numbers as text so the user is told, not given a default', () => {
		const input = newJobInputFromForm(
			form({ name: 'n', baseModel: 'bert-base', dataset: 'imdb', epochs: '', learningRate: 'fast', batchSize: '32' })
		);
		const result = validateNewJob(input);
		expect(result.ok).toBe(false);
		if (!result.ok) {
			expect(result.fields.epochs).toBe('Epochs must be a number.');
			expect(result.fields.learningRate).toBe('Learning rate must be a number.');
		}
	});
});
