import { sql } from 'kysely';
import { log } from './log';
import { db } from './vapor';

const TIMEOUT_MS = 2_000;

export async function checkDatabase(): Promise<{ ok: boolean; database: 'up' | 'down'; error?: string }> {
	let timer: NodeJS.Timeout | undefined;
	try {
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
		});
		await Promise.race([sql`select 1`.execute(db()), timeout]);
		return { ok: true, database: 'up' };
	} catch (error) {
		log.warn('health check: database is not answering', { error });
		return { ok: false, database: 'down', error: 'The database is not answering.' };
	} finally {
		clearTimeout(timer);
	}
}
