/** The bounded buffer between log() and the sender: rows in order, the oldest dropped when full. */
import type { WireValue } from './validate.js';

/** One log() call's accepted values: a step, when it was logged (ms since the epoch), key → value. */
export interface Row {
	step: number;
	at: number;
	values: Record<string, WireValue>;
	/** How many keys `values` holds (counted once, at log()). */
	count: number;
}

/** A rough size of one queued value and one row, to bound the memory the buffer holds. */
export const BYTES_PER_VALUE = 120;
export const BYTES_PER_ROW = 100;

const sizeOf = (row: Row) => BYTES_PER_ROW + BYTES_PER_VALUE * row.count;

export interface Limits {
	maxValues: number;
	maxBytes: number;
}

/** A queue with O(1) push and shift (an array and a moving head, compacted now and then). */
export class RowQueue {
	#rows: Row[] = [];
	#head = 0;
	values = 0;
	bytes = 0;

	constructor(readonly limits: Limits) {}

	get length(): number {
		return this.#rows.length - this.#head;
	}

	/** Adds a row; drops the oldest rows while over the limits and returns how many values went. */
	push(row: Row): number {
		this.#rows.push(row);
		this.values += row.count;
		this.bytes += sizeOf(row);
		let dropped = 0;
		while (this.length > 0 && (this.values > this.limits.maxValues || this.bytes > this.limits.maxBytes))
			dropped += this.shift()!.count;
		return dropped;
	}

	/** Puts rows back at the front (a batch that could not be sent), without a limit check. */
	unshift(rows: readonly Row[]): void {
		if (rows.length === 0) return;
		this.#rows = [...rows, ...this.#rows.slice(this.#head)];
		this.#head = 0;
		for (const row of rows) {
			this.values += row.count;
			this.bytes += sizeOf(row);
		}
	}

	shift(): Row | undefined {
		if (this.length === 0) return undefined;
		const row = this.#rows[this.#head]!;
		this.#rows[this.#head] = undefined as unknown as Row;
		this.#head++;
		if (this.#head > 1024 && this.#head * 2 > this.#rows.length) {
			this.#rows = this.#rows.slice(this.#head);
			this.#head = 0;
		}
		this.values -= row.count;
		this.bytes -= sizeOf(row);
		return row;
	}

	peek(): Row | undefined {
		return this.length === 0 ? undefined : this.#rows[this.#head];
	}

	/** The oldest rows holding at most maxValues values (at least one row, if any: a row is never split). */
	take(maxValues: number): Row[] {
		const rows: Row[] = [];
		let count = 0;
		for (let next = this.peek(); next && (rows.length === 0 || count + next.count <= maxValues); next = this.peek()) {
			rows.push(this.shift()!);
			count += next.count;
		}
		return rows;
	}
}

/** The request body of a batch, in the API's row form. */
export function wireBatch(
	rows: readonly Row[]
): { step: number; recordedAt: string; metrics: Record<string, WireValue> }[] {
	return rows.map((row) => ({ step: row.step, recordedAt: new Date(row.at).toISOString(), metrics: row.values }));
}

/** A refused batch of several rows is halved, so that one bad row holds nothing else back. */
export function halves<T>(batch: readonly T[]): [T[], T[]] {
	const half = Math.floor(batch.length / 2);
	return [batch.slice(0, half), batch.slice(half)];
}

export const valuesIn = (rows: readonly Row[]) => rows.reduce((sum, row) => sum + row.count, 0);
