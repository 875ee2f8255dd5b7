import { describe, expect, it } from 'vitest';
import { modelAndDataset } from './catalogue';

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
