import { DEFAULT_ORDER, type RunSort } from './run-list';

/** Config keys shown as columns (`?cols=optimizer.lr,seed`): at most this many. */
export const MAX_CONFIG_COLUMNS = 6;

const KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** The config columns asked for in the address; anything that is not a key path is left out. */
export function parseColumns(text: string | null): string[] {
	const keys = (text ?? '')
		.split(',')
		.map((key) => key.trim().replace(/^config\./, ''))
		.filter((key) => KEY.test(key));
	return [...new Set(keys)].slice(0, MAX_CONFIG_COLUMNS);
}

/** The address of the run table with some parameters changed (undefined or '' removes one); paging restarts. */
export function runTableHref(current: URLSearchParams, changes: Record<string, string | undefined>): string {
	const params = new URLSearchParams(current);
	params.delete('cursor');
	for (const [name, value] of Object.entries(changes)) {
		if (value === undefined || value === '') params.delete(name);
		else params.set(name, value);
	}
	const query = params.toString();
	return query ? `/training/jobs?${query}` : '/training/jobs';
}

/** A column header's link: the same column flips the order, another starts with that column's default. */
export function sortHref(current: URLSearchParams, sort: RunSort): string {
	const active = (current.get('sort') || 'created') as RunSort;
	const order = current.get('order') || DEFAULT_ORDER[active];
	const next = active === sort ? (order === 'asc' ? 'desc' : 'asc') : DEFAULT_ORDER[sort];
	return runTableHref(current, {
		sort: sort === 'created' ? undefined : sort,
		order: next === DEFAULT_ORDER[sort] ? undefined : next
	});
}

/** A value read from a config by a dotted key. */
export function configValue(config: unknown, key: string): unknown {
	let value: unknown = config;
	for (const part of key.split('.')) {
		if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
		value = (value as Record<string, unknown>)[part];
	}
	return value;
}
