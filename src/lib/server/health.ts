import { log } from './log';
import { database, events } from './vapor';

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
	try {
		// Its own connection: a busy request pool is not a database that is down.
		await database().ping(TIMEOUT_MS);
		return { ok: true, database: 'up', subscribers };
	} catch (error) {
		log.warn('health check: database is not answering', { error });
		return { ok: false, database: 'down', subscribers, error: 'The database is not answering.' };
	}
}
