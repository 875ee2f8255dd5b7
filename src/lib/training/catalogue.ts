import { formatLearningRate } from '../format';

/** The base models and datasets a job can be created with. */

export interface CatalogueEntry {
	id: string;
	label: string;
	detail: string;
}

export const BASE_MODELS = [
	{ id: 'resnet-18', label: 'ResNet-18', detail: '11.7M parameters, image classification' },
	{ id: 'vit-small', label: 'ViT-S/16', detail: '22M parameters, vision transformer' },
	{ id: 'distilbert-base', label: 'DistilBERT base', detail: '66M parameters, text encoder' },
	{ id: 'bert-base', label: 'BERT base', detail: '110M parameters, text encoder' },
	{ id: 'gpt2-small', label: 'GPT-2 small', detail: '124M parameters, text decoder' },
	{ id: 't5-small', label: 'T5 small', detail: '60M parameters, text-to-text' }
] as const satisfies readonly CatalogueEntry[];

export const DATASETS = [
	{ id: 'mnist', label: 'MNIST', detail: '70k handwritten digits' },
	{ id: 'cifar-10', label: 'CIFAR-10', detail: '60k small images, 10 classes' },
	{ id: 'imdb', label: 'IMDB reviews', detail: '50k movie reviews, sentiment' },
	{ id: 'sst-2', label: 'SST-2', detail: '68k sentences, sentiment' },
	{ id: 'ag-news', label: 'AG News', detail: '127k news articles, 4 topics' },
	{ id: 'wikitext-2', label: 'WikiText-2', detail: '2M tokens, language modelling' }
] as const satisfies readonly CatalogueEntry[];

export type BaseModelId = (typeof BASE_MODELS)[number]['id'];
export type DatasetId = (typeof DATASETS)[number]['id'];

export const BASE_MODEL_IDS = BASE_MODELS.map((m) => m.id) as [BaseModelId, ...BaseModelId[]];
export const DATASET_IDS = DATASETS.map((d) => d.id) as [DatasetId, ...DatasetId[]];

export function labelOf(entries: readonly CatalogueEntry[], id: string): string {
	return entries.find((entry) => entry.id === id)?.label ?? id;
}

/** What an external job that names no model or dataset stores for it (JOB_LIMITS.label.default). */
const UNNAMED = 'custom';

/**
 * "ResNet-18 · CIFAR-10" for the page's subtitle. An external run that named neither its
 * model nor its dataset would read "custom · custom": the unnamed ones are left out, and
 * with both unnamed it says who trains the run.
 */
export function modelAndDataset(job: { baseModel: string; dataset: string; source: string }): string {
	const named = [labelOf(BASE_MODELS, job.baseModel), labelOf(DATASETS, job.dataset)].filter(
		(label) => job.source !== 'external' || label !== UNNAMED
	);
	if (named.length > 0) return named.join(' · ');
	return 'Your own training script';
}

/** The names scripts give their hyperparameters (PyTorch, Lightning, Keras, Transformers), first match wins. */
const CONFIG_NAMES = {
	learningRate: ['learning_rate', 'learningRate', 'lr'],
	batchSize: ['batch_size', 'batchSize', 'per_device_train_batch_size']
} as const;

function configNumber(config: Record<string, unknown> | undefined, names: readonly string[]): number | undefined {
	for (const name of names) {
		const value = config?.[name];
		if (typeof value === 'number' && Number.isFinite(value)) return value;
	}
	return undefined;
}

interface SubtitleJob {
	baseModel: string;
	dataset: string;
	source: string;
	epochs: number;
	learningRate: number;
	batchSize: number;
	config?: Record<string, unknown>;
}

/**
 * The monitor's line under the title: "ResNet-18 · CIFAR-10 · 3 epochs · learning rate 3e-4 ·
 * batch size 32". A simulated job trains with its columns. An external job's columns hold the
 * new-job form's defaults, not what the script trains with: its learning rate and batch size
 * come from the config it reported, and are left out when it reported none.
 */
export function jobSubtitle(job: SubtitleJob): string {
	const external = job.source === 'external';
	const learningRate = external ? configNumber(job.config, CONFIG_NAMES.learningRate) : job.learningRate;
	const batchSize = external ? configNumber(job.config, CONFIG_NAMES.batchSize) : job.batchSize;
	return [
		modelAndDataset(job),
		`${job.epochs} ${job.epochs === 1 ? 'epoch' : 'epochs'}`,
		learningRate === undefined ? undefined : `learning rate ${formatLearningRate(learningRate)}`,
		batchSize === undefined ? undefined : `batch size ${batchSize}`
	]
		.filter((part) => part !== undefined)
		.join(' · ');
}
