import { json } from '@sveltejs/kit';
import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { getJob } from '$lib/server/jobs/jobs.service';
import { listKeys } from '$lib/server/metrics/metrics.repository';
import { db } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

/** Every key of the job with its count, first and last step, last value, min and max. */
export const GET: RequestHandler = api(async ({ params }) => {
	const job = await getJob(db(), parseJobId(params.id));
	return json({ primaryMetric: job.primaryMetric, keys: await listKeys(db(), job.id) });
});
