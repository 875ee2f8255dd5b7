import { JOB_LIMITS } from './job-input';

const NUMBERED = /^(.*) \((\d+)\)$/;

/** "NAME (n)" → "NAME": a copy of a copy counts from the original's name. */
export function baseName(name: string): string {
	return NUMBERED.exec(name)?.[1] ?? name;
}

/**
 * The name of the next copy: `NAME (2)`, `NAME (3)`, … after the highest number taken,
 * cut so that it still fits the name limit.
 */
export function nextCopyName(name: string, taken: readonly string[]): string {
	const base = baseName(name);
	let highest = 1;
	for (const other of taken) {
		const match = NUMBERED.exec(other);
		if (match && match[1] === base) highest = Math.max(highest, Number(match[2]));
	}
	const suffix = ` (${highest + 1})`;
	return base.slice(0, JOB_LIMITS.name.max - suffix.length) + suffix;
}
