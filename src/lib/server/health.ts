import { log } from './log';
import { database, events } from './vapor';

const TIMEOUT_MS = 2_000;

export interface Health {
	ok: boolean;
	database: 'up' | 'down';
	/** `full`: writes are refused for lack of space (error says where and how much). */
	disk: 'ok' | 'full';
	/** Live subscriptions to job events in this process (stream clients and internal feeds). */
	subscribers: number;
	error?: string;
}

export async function checkHealth(): Promise<Health> {
	const subscribers = events().bus.subscriberCount;
	const handle = database();
	try {
		// Its own connection: a busy request pool is not a database that is down.
		await handle.ping(TIMEOUT_MS);
	} catch (error) {
		log.warn('health check: database is not answering', { error });
		return { ok: false, database: 'down', disk: 'ok', subscribers, error: 'The database is not answering.' };
	}
	const diskProblem = handle.storage.problem();
	if (diskProblem) return { ok: false, database: 'up', disk: 'full', subscribers, error: diskProblem };
	return { ok: true, database: 'up', disk: 'ok', subscribers };
}
