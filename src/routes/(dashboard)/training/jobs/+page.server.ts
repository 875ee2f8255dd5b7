import { getJobs } from '$lib/server/jobs/jobs.service';
import { db } from '$lib/server/vapor';

export async function load() {
	return { jobs: await getJobs(db()) };
}
