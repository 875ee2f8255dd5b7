import type { CommittedRow } from './metrics';
import { encodeMessage } from './sse';

/**
 * A row of the version-2 job stream (`values` events): one step's values from one commit,
 * at the job's position. JSON has no NaN: a non-finite value travels as the string
 * "NaN", "Infinity" or "-Infinity", as the ingest API takes it.
 */
export interface StreamRow {
	position: number;
	step: number;
	epoch: number;
	recordedAt: string;
	values: Record<string, number | 'NaN' | 'Infinity' | '-Infinity'>;
}

const jsonValue = (value: number) =>
	Number.isFinite(value) ? value : Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';

/** Rows as a stream row would carry them, narrowed to `keys`; rows left empty are dropped. */
export function toStreamRows(rows: readonly CommittedRow[], keys?: ReadonlySet<string>): StreamRow[] {
	const out: StreamRow[] = [];
	for (const row of rows) {
		const values: StreamRow['values'] = {};
		let any = false;
		for (const key in row.values) {
			if (keys && !keys.has(key)) continue;
			values[key] = jsonValue(row.values[key]!);
			any = true;
		}
		if (any) out.push({ position: row.position, step: row.step, epoch: row.epoch, recordedAt: row.recordedAt, values });
	}
	return out;
}

/** A `values` event with id `upTo` (the last position it covers), or undefined when no value is left. */
export function rowsFrame(
	rows: readonly CommittedRow[],
	keys: ReadonlySet<string> | undefined,
	upTo: number
): string | undefined {
	const streamRows = toStreamRows(rows, keys);
	if (streamRows.length === 0) return undefined;
	return encodeMessage({ event: 'values', id: String(upTo), data: JSON.stringify(streamRows) });
}

/** A number from a stream row's value ("NaN" etc. back to NaN). */
export function streamValue(value: StreamRow['values'][string]): number {
	return typeof value === 'number' ? value : Number(value);
}
