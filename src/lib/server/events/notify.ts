import { sql } from 'kysely';
import type { Db } from '../db';

/** The channel other Vapor processes LISTEN on. */
export const EVENTS_CHANNEL = 'vapor_events';

/**
 * Payloads carry ids and steps only, never data, and stay far below Postgres's 8000-byte
 * NOTIFY limit: a listener reads the rows it is told about.
 *   { i: instance, p: [[jobId, step], …] }   points committed
 *   { i: instance, s: [[jobId, status], …] } statuses changed
 */
export interface Notification {
	i: string;
	p?: [string, number][];
	s?: [string, string][];
}

/** Entries per notification: ~50 bytes each keeps a payload under 6 KB. */
export const NOTIFY_CHUNK = 100;

export async function notifyStatus(db: Db, instanceId: string, jobId: string, status: string): Promise<void> {
	const payload: Notification = { i: instanceId, s: [[jobId, status]] };
	await sql`select pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(payload)})`.execute(db);
}
