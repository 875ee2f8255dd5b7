import { describe, expect, it } from 'vitest';
import { curvePoint, DIVERGENCE_LEARNING_RATE, epochOfStep, type CurveConfig } from './curve';

const config: CurveConfig = { seed: 42, learningRate: 3e-4, batchSize: 32, stepsPerEpoch: 100 };
const run = (c: CurveConfig, steps: number) => Array.from({ length: steps }, (_, i) => curvePoint(c, i + 1));
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('curvePoint', () => {
	it('replays the same curve for the same seed and config, whatever order steps are asked in', () => {
		const forward = run(config, 300);
		const backward = Array.from({ length: 300 }, (_, i) => curvePoint(config, 300 - i)).reverse();
		expect(backward).toEqual(forward);
	});

	it('gives another curve for another seed', () => {
		expect(run({ ...config, seed: 43 }, 20)).not.toEqual(run(config, 20));
	});

	it('decays the loss toward a floor and raises accuracy toward a ceiling', () => {
		const points = run(config, 300);
		const early = mean(points.slice(0, 10).map((p) => p.loss));
		const late = mean(points.slice(-20).map((p) => p.loss));
		expect(early).toBeGreaterThan(1.8);
		expect(late).toBeLessThan(0.4);
		expect(late).toBeGreaterThan(0.03);
		expect(mean(points.slice(0, 10).map((p) => p.accuracy))).toBeLessThan(0.25);
		expect(mean(points.slice(-20).map((p) => p.accuracy))).toBeGreaterThan(0.85);
		for (const p of points) {
			expect(p.accuracy).toBeGreaterThanOrEqual(0);
			expect(p.accuracy).toBeLessThanOrEqual(1);
			expect(p.loss).toBeGreaterThan(0);
		}
	});

	it('learns faster with a higher learning rate', () => {
		const slow = run({ ...config, learningRate: 1e-5 }, 100);
		const fast = run({ ...config, learningRate: 1e-2 }, 100);
		expect(mean(fast.slice(-10).map((p) => p.loss))).toBeLessThan(mean(slow.slice(-10).map((p) => p.loss)));
	});

	it('is noisier with a small batch than a large one', () => {
		const roughness = (c: CurveConfig) => {
			const losses = run(c, 300)
				.slice(200)
				.map((p) => p.loss);
			return mean(losses.slice(1).map((loss, i) => Math.abs(loss - losses[i]!))) / mean(losses);
		};
		expect(roughness({ ...config, batchSize: 4 })).toBeGreaterThan(2 * roughness({ ...config, batchSize: 1024 }));
	});

	it('bumps the loss at the start of each new epoch', () => {
		const points = run({ ...config, seed: 5, batchSize: 4096 }, 201);
		// Step 101 opens epoch 2 and step 201 epoch 3: each sits above the step before it.
		expect(points[100]!.loss).toBeGreaterThan(points[99]!.loss * 1.05);
		expect(points[200]!.loss).toBeGreaterThan(points[199]!.loss * 1.05);
	});

	it('diverges above the threshold: loss grows, then turns NaN', () => {
		const diverging = { ...config, learningRate: 0.8 };
		const points = run(diverging, 300);
		const nan = points.findIndex((p) => Number.isNaN(p.loss));
		expect(nan).toBeGreaterThan(10);
		expect(points[nan - 1]!.loss).toBeGreaterThan(points[0]!.loss * 100);
		expect(run({ ...config, learningRate: DIVERGENCE_LEARNING_RATE }, 1000).some((p) => Number.isNaN(p.loss))).toBe(
			false
		);
	});

	it('numbers epochs from 1 with 100 steps each', () => {
		expect([1, 100, 101, 200, 201].map((step) => epochOfStep(step, 100))).toEqual([1, 1, 2, 2, 3]);
		expect(curvePoint(config, 101).epoch).toBe(2);
	});
});
