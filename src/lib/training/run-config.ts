/** A job's config: any JSON object (nested), as a training script would log it. */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The largest config, in bytes of its JSON. */
export const CONFIG_MAX_BYTES = 64 * 1024;

export const isJsonObject = (value: unknown): value is JsonObject =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

export type ConfigCheck = { ok: true; value: JsonObject } | { ok: false; error: string };

/** Checks that a value is a JSON object of at most 64 KB. */
export function checkConfig(value: unknown): ConfigCheck {
	if (!isJsonObject(value))
		return { ok: false, error: 'Config must be a JSON object, such as {"optimizer": {"lr": 0.001}}.' };
	const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
	if (bytes > CONFIG_MAX_BYTES)
		return { ok: false, error: `Config is ${bytes} bytes of JSON; at most ${CONFIG_MAX_BYTES} (64 KB) fit.` };
	return { ok: true, value };
}

/** One leaf of a config, its key the path joined with dots (`optimizer.lr`). */
export interface ConfigEntry {
	key: string;
	value: JsonValue;
}

/** Leaves of a config in key order; arrays and empty objects are leaves (shown as JSON). */
export function flattenConfig(config: JsonObject, prefix = ''): ConfigEntry[] {
	const entries: ConfigEntry[] = [];
	for (const key of Object.keys(config).sort()) {
		const value = config[key]!;
		const path = prefix ? `${prefix}.${key}` : key;
		if (isJsonObject(value) && Object.keys(value).length > 0) entries.push(...flattenConfig(value, path));
		else entries.push({ key: path, value });
	}
	return entries;
}

/** A config value as a person reads it in a table cell. */
export function formatConfigValue(value: JsonValue | undefined): string {
	if (value === undefined) return '—';
	if (typeof value === 'string') return value;
	return JSON.stringify(value);
}

const sameJson = (a: JsonValue, b: JsonValue) => JSON.stringify(a) === JSON.stringify(b);

export type ConfigMerge = { ok: true; value: JsonObject; changed: boolean } | { ok: false; key: string };

/**
 * Adds keys to a config. Objects merge key by key; a key that already has a value keeps
 * it: the same value again is fine, a different one is refused with the key's path, so a
 * run's recorded config can never change silently.
 */
export function mergeConfig(existing: JsonObject, additions: JsonObject, prefix = ''): ConfigMerge {
	const merged: JsonObject = { ...existing };
	let changed = false;
	for (const [key, value] of Object.entries(additions)) {
		const path = prefix ? `${prefix}.${key}` : key;
		const current = merged[key];
		if (current === undefined) {
			merged[key] = value;
			changed = true;
		} else if (isJsonObject(current) && isJsonObject(value)) {
			const inner = mergeConfig(current, value, path);
			if (!inner.ok) return inner;
			merged[key] = inner.value;
			changed ||= inner.changed;
		} else if (!sameJson(current, value)) {
			return { ok: false, key: path };
		}
	}
	return { ok: true, value: merged, changed };
}

/** A config key whose values differ between runs: one value (or undefined) per run, in order. */
export interface ConfigDifference {
	key: string;
	values: (JsonValue | undefined)[];
}

/** The config keys on which runs differ, and how many keys they share with equal values. */
export function configDifferences(
	configs: JsonObject[],
	{ includeEqual = false } = {}
): { differing: ConfigDifference[]; equalCount: number } {
	const flat = configs.map((config) => new Map(flattenConfig(config).map((entry) => [entry.key, entry.value])));
	const keys = [...new Set(flat.flatMap((entries) => [...entries.keys()]))].sort();
	const differing: ConfigDifference[] = [];
	let equalCount = 0;
	for (const key of keys) {
		const values = flat.map((entries) => entries.get(key));
		const first = JSON.stringify(values[0]);
		const equal = values.every((value) => JSON.stringify(value) === first);
		if (equal) equalCount++;
		if (!equal || includeEqual) differing.push({ key, values });
	}
	return { differing, equalCount };
}
