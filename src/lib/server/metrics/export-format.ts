/**
 * Text of a metrics export: CSV rows, JSON chunks and a safe download name. Pure, so the
 * format is tested without a server; metrics-export.ts streams these page by page.
 */
import type { Job } from '../../training/job';
import type { CommittedRow, MetricValue } from '../../training/metrics';

export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
	csv: 'text/csv; charset=utf-8',
	json: 'application/json; charset=utf-8'
};

export const CSV_HEADER = 'key,step,epoch,value,recorded_at\n';

/** A number as CSV: shortest round-trip text; NaN, Infinity and -Infinity as such. */
function csvNumber(value: number): string {
	return String(value);
}

/** A key as a CSV field: quoted when it holds a character CSV treats specially (keys may hold spaces only, but be safe). */
function csvKey(key: string): string {
	return /[",\n\r]/.test(key) ? `"${key.replace(/"/g, '""')}"` : key;
}

/** One line per value, in the rows' (commit) order. */
export function csvRows(rows: readonly CommittedRow[], keys?: ReadonlySet<string>): string {
	let text = '';
	for (const row of rows)
		for (const key in row.values) {
			if (keys && !keys.has(key)) continue;
			text += `${csvKey(key)},${row.step},${row.epoch},${csvNumber(row.values[key]!)},${row.recordedAt}\n`;
		}
	return text;
}

/**
 * The JSON export is one document grouped by key,
 * `{ "job": {…}, "metrics": { "train/loss": [ { step, epoch, value, recordedAt }, … ], … } }`,
 * written in pieces: the opening, each key's opening, its pages of values (a comma
 * before every page but the first), its closing, and the closing. JSON has no NaN: a
 * non-finite value is null with `"nonFinite": "NaN"` (or "Infinity", "-Infinity").
 */
export function jsonOpening(job: Job): string {
	return `{"job":${JSON.stringify(job)},"metrics":{`;
}

export function jsonKeyOpening(key: string, first: boolean): string {
	return `${first ? '' : ','}\n${JSON.stringify(key)}:[`;
}

export function jsonValues(values: readonly MetricValue[], first: boolean): string {
	const rows = values.map((v) =>
		JSON.stringify({
			step: v.step,
			epoch: v.epoch,
			value: v.value,
			...(v.nonFinite ? { nonFinite: v.nonFinite } : {}),
			recordedAt: v.recordedAt
		})
	);
	return (first ? '\n' : ',\n') + rows.join(',\n');
}

export const JSON_KEY_CLOSING = '\n]';
export const JSON_CLOSING = '\n}}\n';

/**
 * `<job name>-metrics.<ext>` with only letters, digits, dot, dash and underscore (everything
 * else becomes a dash), at most 80 characters of name; the job id when nothing is left.
 */
export function exportFileName(job: Pick<Job, 'id' | 'name'>, format: ExportFormat): string {
	const safe = job.name
		.normalize('NFKD')
		.replace(/[\u0300-\u036f]/g, '')
		.replace(/[^A-Za-z0-9._-]+/g, '-')
		.replace(/-{2,}/g, '-')
		.replace(/^[-.]+|[-.]+$/g, '')
		.slice(0, 80)
		.replace(/[-.]+$/, '');
	return `${safe || `job-${job.id.slice(0, 8)}`}-metrics.${format}`;
}

/**
 * The Content-Disposition of a download. Only the safe name: with a filename* as well,
 * browsers would prefer the exact name, slashes, quotes and all, and clean it up their own way.
 */
export function contentDisposition(job: Pick<Job, 'id' | 'name'>, format: ExportFormat): string {
	return `attachment; filename="${exportFileName(job, format)}"`;
}
