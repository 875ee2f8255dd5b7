import type { Db } from '../db';
import { findJob } from './jobs.repository';
import { listKeys } from '../metrics/metrics.repository';
import { orderCompareKeys } from '../../training/compare';
import { toJob } from './jobs.table';
import { parseCompareIds } from '../../training/compare';
import type { Job } from '../../training/job';

export interface ComparedJobs {
	/** The jobs found, in the order of the URL. */
	jobs: Job[];
	/** Entries of `ids` that are not job ids. */
	notIds: string[];
	/** Well-formed ids that no job has. */
	unknown: string[];
	/** Ids past the first MAX_COMPARE, left out. */
	overLimit: string[];
}

/**
 * The jobs of `?ids=a,b,c` for the compare page. Bad entries are reported, not thrown:
 * the page shows what it can and says what it left out.
 */
export async function findComparedJobs(db: Db, rawIds: string | null): Promise<ComparedJobs> {
	const { ids, notIds, overLimit } = parseCompareIds(rawIds);
	const rows = await Promise.all(ids.map((id) => findJob(db, id)));
	const jobs: Job[] = [];
	const unknown: string[] = [];
	rows.forEach((row, i) => (row ? jobs.push(toJob(row)) : unknown.push(ids[i]!)));
	return { jobs, notIds, unknown, overLimit };
}

/** The metrics the compare page offers: those every run has first, then the others (see orderCompareKeys). */
export async function compareKeys(db: Db, jobs: readonly Job[]): Promise<{ shared: string[]; others: string[] }> {
	const keys = [];
	for (const job of jobs) keys.push((await listKeys(db, job.id)).map((k) => k.key));
	return orderCompareKeys(keys);
}
