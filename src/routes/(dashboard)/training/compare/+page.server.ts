import { findComparedJobs } from '$lib/server/jobs/compare.service';
import { db } from '$lib/server/vapor';
import { parseXMode } from '$lib/training/compare';

export async function load({ url }) {
	return { ...(await findComparedJobs(db(), url.searchParams.get('ids'))), x: parseXMode(url.searchParams.get('x')) };
}
