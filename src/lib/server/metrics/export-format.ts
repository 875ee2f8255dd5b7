/**
 * Text of a metrics export: CSV rows, JSON chunks and a safe download name. Pure, so the
 * format is tested without a server; metrics-export.ts streams these page by page.
 */
import type { Job, MetricPoint } from '../../training/job';

export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
	csv: 'text/csv; charset=utf-8',
	json: 'application/json; charset=utf-8'
};

export const CSV_HEADER = 'step,epoch,loss,accuracy,recorded_at\n';

/** A number as CSV: shortest round-trip text, "NaN" for a diverged loss, empty for no value. */
function csvNumber(value: number | null): string {
	if (value === null) return '';
	return Number.isNaN(value) ? 'NaN' : String(value);
}

/** One line per point; nothing in a point needs quoting (numbers and ISO timestamps). */
export function csvRows(points: readonly MetricPoint[]): string {
	let text = '';
	for (const p of points)
		text += `${p.step},${p.epoch},${csvNumber(p.loss)},${csvNumber(p.accuracy)},${p.recordedAt}\n`;
	return text;
}

/**
 * The JSON export is one document, `{ "job": {…}, "metrics": [ … ] }`, written in pieces:
 * the opening, then each page's points (a comma before every page but the first), then
 * the closing. A NaN loss becomes null, as JSON has no NaN.
 */
export function jsonOpening(job: Job): string {
	return `{"job":${JSON.stringify(job)},"metrics":[\n`;
}

export function jsonRows(points: readonly MetricPoint[], first: boolean): string {
	const rows = points.map((p) =>
		JSON.stringify({ step: p.step, epoch: p.epoch, loss: p.loss, accuracy: p.accuracy, recordedAt: p.recordedAt })
	);
	return (first ? '' : ',\n') + rows.join(',\n');
}

export const JSON_CLOSING = '\n]}\n';

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
