import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db';

/** The channel other Vapor processes LISTEN on. */
export const EVENTS_CHANNEL = 'vapor_events';

/**
 * The one definition of what Vapor NOTIFYs. Payloads carry ids and positions only, never
 * data, and stay far below Postgres's 8000-byte NOTIFY limit: a listener reads the rows.
 *   { i: instance, p: [[jobId, lastPosition], …] }   metric rows committed up to that position
 *   { i: instance, s: [[jobId, status], …] }         statuses changed
 */
export interface Notification {
	i: string;
	p?: [string, number][];
	s?: [string, string][];
}

/** Entries per notification: ~50 bytes each keeps a payload under 6 KB. */
export const NOTIFY_CHUNK = 100;

/**
 * A SQL expression that NOTIFYs every `(job_id, x)` pair of `relation` under `field`
 * ('p' or 's') in chunks, and counts the notifications. Used inside the write statements,
 * so the messages are delivered exactly when the rows commit.
 */
export function notifyPairsSql(
	instanceId: string,
	field: 'p' | 's',
	relation: RawBuilder<unknown>
): RawBuilder<number> {
	return sql<number>`(select count(pg_notify(${EVENTS_CHANNEL}, payload)) from (
		select json_build_object('i', ${instanceId}::text, ${field}::text, json_agg(json_build_array(job_id, x)))::text as payload
		from (select job_id, x, (row_number() over () - 1) / ${NOTIFY_CHUNK} as chunk from ${relation} pairs) numbered
		group by chunk
	) chunks)`;
}

export async function notifyStatus(db: Db, instanceId: string, jobId: string, status: string): Promise<void> {
	await sql`select ${notifyPairsSql(instanceId, 's', sql`(select ${jobId}::uuid as job_id, ${status}::text as x)`)}`.execute(
		db
	);
}
