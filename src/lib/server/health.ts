import { sql } from 'kysely';
import { log } from './log';
import { db, events } from './vapor';

const TIMEOUT_MS = 2_000;

export interface Health {
	ok: boolean;
	database: 'up' | 'down';
	/** Live subscriptions to job events in this process (stream clients and internal feeds). */
	subscribers: number;
	error?: string;
}

export async function checkHealth(): Promise<Health> {
	const subscribers = events().bus.subscriberCount;
	let timer: NodeJS.Timeout | undefined;
	try {
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
		});
		await Promise.race([sql`select 1`.execute(db()), timeout]);
		return { ok: true, database: 'up', subscribers };
	} catch (error) {
		log.warn('health check: database is not answering', { error });
		return { ok: false, database: 'down', subscribers, error: 'The database is not answering.' };
	} finally {
		clearTimeout(timer);
	}
}
