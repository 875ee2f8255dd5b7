import { curvePoint, willDiverge, type CurveConfig } from './curve';

/** Steps between two validation passes of a simulated run. */
export const VALIDATION_EVERY = 100;
const WARMUP_FRACTION = 0.05;

function hash(seed: number, step: number, channel: number): number {
	let h = (seed ^ Math.imul(step, 0x9e3779b1) ^ Math.imul(channel + 1, 0x85ebca6b)) | 0;
	h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
	h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
	return (((h ^ (h >>> 16)) >>> 0) + 0.5) / 4294967296;
}

/** A centred draw in (-1, 1). */
const noise = (seed: number, step: number, channel: number) => 2 * hash(seed, step, channel) - 1;

/** Linear warm-up over the first 5 % of the run, then cosine decay to a tenth of the peak. */
export function learningRateAt(peak: number, step: number, totalSteps: number): number {
	const warmup = Math.max(1, Math.round(totalSteps * WARMUP_FRACTION));
	if (step <= warmup) return (peak * step) / warmup;
	const progress = Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup));
	return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export interface SimulatedStep {
	epoch: number;
	/** key → value; train/loss is NaN once a diverging run blew up. */
	values: Record<string, number>;
}

/**
 * Every metric a simulated run reports at a step, a pure function of the job and the step
 * (so a restarted simulator replays the same values): train/loss and train/accuracy (the
 * seed's curve), val/loss and val/accuracy every 100 steps with the gap overfitting opens,
 * lr, grad_norm (spiking as a run diverges), throughput and a GPU's utilisation and memory.
 */
export function simulatedStep(config: CurveConfig & { totalSteps: number }, step: number): SimulatedStep {
	const point = curvePoint(config, step);
	const { seed, learningRate, batchSize, totalSteps } = config;
	const progress = step / Math.max(1, totalSteps);
	const diverging = willDiverge(learningRate);
	const values: Record<string, number> = {
		'train/loss': point.loss,
		'train/accuracy': point.accuracy,
		lr: learningRateAt(learningRate, step, totalSteps),
		grad_norm: diverging
			? Math.min(1e6, 0.8 * Math.exp(0.03 * step) * (1 + 0.3 * Math.abs(noise(seed, step, 20))))
			: (0.4 + 2.5 * Math.exp(-step / 80)) * (1 + 0.25 * noise(seed, step, 21)) +
				(hash(seed, step, 22) > 0.995 ? 4 * hash(seed, step, 23) : 0),
		'throughput/samples_per_s': batchSize * (22 + 1.5 * noise(seed, step, 24)) * (step < 5 ? 0.6 : 1),
		'system/gpu.0.util': Math.min(100, Math.max(0, 93 + 5 * noise(seed, step, 25) - (step < 5 ? 40 : 0))),
		'system/gpu.0.memory_gb': Math.min(
			24,
			4 + batchSize / 16 + 0.4 * Math.min(1, step / 50) + 0.05 * noise(seed, step, 26)
		)
	};
	if (step % VALIDATION_EVERY === 0 && Number.isFinite(point.loss)) {
		// The gap between train and val widens as the run goes on: the model starts to overfit.
		const gap = 1 + 0.08 + 0.35 * progress * progress;
		values['val/loss'] = point.loss * gap * (1 + 0.05 * noise(seed, step, 27));
		values['val/accuracy'] = Math.max(
			0,
			Math.min(1, point.accuracy - 0.02 - 0.06 * progress + 0.01 * noise(seed, step, 28))
		);
	}
	return { epoch: point.epoch, values };
}

/** The two keys of a job created before named metrics: its curve under today's names. */
export function legacySimulatedStep(config: CurveConfig, step: number): SimulatedStep {
	const point = curvePoint(config, step);
	return { epoch: point.epoch, values: { loss: point.loss, accuracy: point.accuracy } };
}
