import { describe, expect, it } from 'vitest';
import { jobSubtitle, modelAndDataset } from './catalogue';

describe('modelAndDataset', () => {
	it('names catalogue entries by their labels', () => {
		expect(modelAndDataset({ baseModel: 'resnet-18', dataset: 'cifar-10', source: 'simulated' })).toBe(
			'ResNet-18 · CIFAR-10'
		);
	});

	it('leaves out what an external run did not name, and says who trains it when it named nothing', () => {
		expect(modelAndDataset({ baseModel: 'custom', dataset: 'iris', source: 'external' })).toBe('iris');
		expect(modelAndDataset({ baseModel: 'my-mlp', dataset: 'custom', source: 'external' })).toBe('my-mlp');
		expect(modelAndDataset({ baseModel: 'custom', dataset: 'custom', source: 'external' })).toBe(
			'Your own training script'
		);
	});
});

describe('jobSubtitle', () => {
	const job = {
		baseModel: 'resnet-18',
		dataset: 'cifar-10',
		source: 'simulated',
		epochs: 3,
		learningRate: 0.0003,
		batchSize: 32
	};
	it('shows a simulated job with the hyperparameters it trains with', () => {
		expect(jobSubtitle(job)).toBe('ResNet-18 · CIFAR-10 · 3 epochs · learning rate 3e-4 · batch size 32');
		expect(jobSubtitle({ ...job, epochs: 1 })).toContain('· 1 epoch ·');
	});

	it("takes an external job's learning rate and batch size from its config, never the form's defaults", () => {
		const external = { ...job, baseModel: 'custom', dataset: 'digits', source: 'external' };
		expect(jobSubtitle(external)).toBe('digits · 3 epochs');
		expect(jobSubtitle({ ...external, config: { lr: 0.1, batch_size: 64, optimizer: 'sgd' } })).toBe(
			'digits · 3 epochs · learning rate 0.1 · batch size 64'
		);
		expect(jobSubtitle({ ...external, config: { learning_rate: 'high', batchSize: 8 } })).toBe(
			'digits · 3 epochs · batch size 8'
		);
	});
});
