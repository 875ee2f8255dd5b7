import { json } from '@sveltejs/kit';
import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { getJob } from '$lib/server/jobs/jobs.service';
import { parseMetricsQuery } from '$lib/server/metrics/metrics-query';
import { listPoints } from '$lib/server/metrics/metrics.repository';
import { db } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(async ({ params, url }) => {
	const query = parseMetricsQuery(url.searchParams);
	const job = await getJob(db(), parseJobId(params.id));
	return json({ metrics: await listPoints(db(), job.id, query) });
});
