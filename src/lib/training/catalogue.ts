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
