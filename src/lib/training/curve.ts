/**
 * The simulated training curve: a pure function of a job's configuration, its seed
 * and the step number. Because a point depends on nothing else, the simulator can
 * resume a job at any step after a restart and replay exactly the same curve.
 *
 * With s the step (1 … S), τ the decay length and z(s, c) a standard normal draw
 * hashed from (seed, s, channel c):
 *
 *   τ        = clamp(60 · sqrt(3e-4 / lr), 8, 2000)                 steps per e-fold
 *   L0       = 2.3 + 0.2 · u(seed)                                  initial loss
 *   floor    = 0.06 + 0.10 · u(seed)                                what the model can reach
 *   σ        = min(0.3, 0.035 · (lr / 3e-4)^0.25 · sqrt(32 / batch)) relative noise
 *   bump(s)  = 0.15 · (excess + 0.05) · exp(-(s mod E) / 6)         for epochs after the first
 *   loss(s)  = (floor + excess(s) + bump(s)) · (1 + σ · z(s, 0)),  excess(s) = (L0 - floor) · e^(-s/τ)
 *   acc(s)   = 0.1 + (ceiling - 0.1) / (1 + e^(-(s - 1.5τ) / (0.6τ))) + 0.004 · z(s, 1)
 *
 * with E the steps per epoch and ceiling = 0.985 - floor / 2. A learning rate above
 * DIVERGENCE_LEARNING_RATE diverges instead: the loss grows as L0 · e^(g·s) with
 * g = 0.02 · lr / 0.1, accuracy collapses toward chance, and at the first step where
 * the loss would pass 10^4 the point is NaN, which fails the job.
 */

export const DIVERGENCE_LEARNING_RATE = 0.1;
const DIVERGED_LOSS = 1e4;

export interface CurveConfig {
	seed: number;
	learningRate: number;
	batchSize: number;
	stepsPerEpoch: number;
}

export interface CurvePoint {
	step: number;
	epoch: number;
	/** NaN once a diverging run has blown up. */
	loss: number;
	accuracy: number;
}

/** The epoch of a step (also when a script does not say): steps 1..stepsPerEpoch are epoch 1. */
export function epochOfStep(step: number, stepsPerEpoch: number): number {
	return Math.ceil(step / stepsPerEpoch);
}

/** A 32-bit integer hash (the murmur3 finaliser) to derive independent draws. */
function mix32(value: number): number {
	let h = value | 0;
	h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
	h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
	return (h ^ (h >>> 16)) >>> 0;
}

/** A uniform draw in (0, 1) from the seed, step and channel. */
function uniform(seed: number, step: number, channel: number): number {
	const h = mix32(mix32(mix32(seed) ^ step) ^ (channel * 0x9e3779b9));
	return (h + 0.5) / 4294967296;
}

/** A standard normal draw (Box–Muller). */
function normal(seed: number, step: number, channel: number): number {
	const u1 = uniform(seed, step, channel * 2 + 100);
	const u2 = uniform(seed, step, channel * 2 + 101);
	return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(max, Math.max(min, value));
}

export function willDiverge(learningRate: number): boolean {
	return learningRate > DIVERGENCE_LEARNING_RATE;
}

export function curvePoint(config: CurveConfig, step: number): CurvePoint {
	const { seed, learningRate, batchSize, stepsPerEpoch } = config;
	const epoch = epochOfStep(step, stepsPerEpoch);
	const initialLoss = 2.3 + 0.2 * uniform(seed, 0, 1);

	if (willDiverge(learningRate)) {
		const growth = (0.02 * learningRate) / DIVERGENCE_LEARNING_RATE;
		const loss = initialLoss * Math.exp(growth * step) * (1 + 0.05 * normal(seed, step, 0));
		const accuracy = clamp(0.1 * Math.exp(-step / 50) + 0.02 * Math.abs(normal(seed, step, 1)), 0, 1);
		return { step, epoch, loss: loss > DIVERGED_LOSS ? Number.NaN : loss, accuracy };
	}

	const tau = clamp(60 * Math.sqrt(3e-4 / learningRate), 8, 2000);
	const floor = 0.06 + 0.1 * uniform(seed, 0, 2);
	const sigma = Math.min(0.3, 0.035 * Math.pow(learningRate / 3e-4, 0.25) * Math.sqrt(32 / batchSize));
	const excess = (initialLoss - floor) * Math.exp(-step / tau);
	const stepInEpoch = (step - 1) % stepsPerEpoch;
	const bump = epoch > 1 ? 0.15 * (excess + 0.05) * Math.exp(-stepInEpoch / 6) : 0;
	const loss = Math.max(1e-4, (floor + excess + bump) * (1 + sigma * normal(seed, step, 0)));

	const ceiling = 0.985 - floor / 2;
	const logistic = 1 / (1 + Math.exp(-(step - 1.5 * tau) / (0.6 * tau)));
	const accuracy = clamp(0.1 + (ceiling - 0.1) * logistic + 0.004 * normal(seed, step, 1), 0, 1);

	return { step, epoch, loss, accuracy };
}

export function divergenceMessage(step: number, learningRate: number): string {
	return `Loss diverged (NaN) at step ${step}: learning rate ${learningRate} is too high (runs diverge above ${DIVERGENCE_LEARNING_RATE}).`;
}

/** A fresh seed for a new job. */
export function newSeed(): number {
	return Math.floor(Math.random() * 2 ** 31);
}
