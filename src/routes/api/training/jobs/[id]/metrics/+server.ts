import { json } from '@sveltejs/kit';
import { api, readJsonBody } from '$lib/server/http';
import { ingestPoints } from '$lib/server/ingest/ingest.service';
import { parseJobId } from '$lib/server/ids';
import { getJob } from '$lib/server/jobs/jobs.service';
import { readMetrics } from '$lib/server/metrics/curve.service';
import { parseMetricsQuery } from '$lib/server/metrics/metrics-query';
import { db, events, rollups } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(async ({ params, url }) => {
	const query = parseMetricsQuery(url.searchParams);
	const job = await getJob(db(), parseJobId(params.id));
	return json(await readMetrics(db(), job, query));
});

/** A training script's values (external jobs only): see the README and docs/streaming.md. */
export const POST: RequestHandler = api(async ({ params, request }) => {
	const id = parseJobId(params.id);
	const body = await readJsonBody(request, 'the points as a JSON array');
	return json(await ingestPoints(db(), events(), rollups(), id, body));
});
