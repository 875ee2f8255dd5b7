import { json } from '@sveltejs/kit';
import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { getJob } from '$lib/server/jobs/jobs.service';
import { readKeyRange } from '$lib/server/metrics/curve.service';
import { parseRangeQuery } from '$lib/server/metrics/metrics-query';
import { db } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

/** One key over a step range at full resolution, for a zoomed chart: see readKeyRange. */
export const GET: RequestHandler = api(async ({ params, url }) => {
	const query = parseRangeQuery(url.searchParams);
	const job = await getJob(db(), parseJobId(params.id));
	return json(await readKeyRange(db(), job.id, query));
});
