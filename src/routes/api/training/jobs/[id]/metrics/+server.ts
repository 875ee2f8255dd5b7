import { json } from '@sveltejs/kit';
import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { getJob } from '$lib/server/jobs/jobs.service';
import { readCurve } from '$lib/server/metrics/curve.service';
import { parseMetricsQuery } from '$lib/server/metrics/metrics-query';
import { listPoints } from '$lib/server/metrics/metrics.repository';
import { db } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(async ({ params, url }) => {
	const query = parseMetricsQuery(url.searchParams);
	const job = await getJob(db(), parseJobId(params.id));
	const metrics = query.maxPoints
		? await readCurve(db(), job.id, query.maxPoints, query.afterStep)
		: await listPoints(db(), job.id, query);
	return json({ metrics });
});
