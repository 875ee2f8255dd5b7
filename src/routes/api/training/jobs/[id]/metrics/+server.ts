import { json } from '@sveltejs/kit';
import { api, readJsonBody } from '$lib/server/http';
import { ingestPoints } from '$lib/server/ingest/ingest.service';
import { parseJobId } from '$lib/server/ids';
import { getJob } from '$lib/server/jobs/jobs.service';
import { readCurve } from '$lib/server/metrics/curve.service';
import { parseMetricsQuery } from '$lib/server/metrics/metrics-query';
import { listPoints } from '$lib/server/metrics/metrics.repository';
import { db, events, rollups } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(async ({ params, url }) => {
	const query = parseMetricsQuery(url.searchParams);
	const job = await getJob(db(), parseJobId(params.id));
	const metrics = query.maxPoints
		? await readCurve(db(), job.id, query.maxPoints, query.afterStep)
		: await listPoints(db(), job.id, query);
	return json({ metrics });
});

/** A training script's points (external jobs only): see docs/streaming.md and the README. */
export const POST: RequestHandler = api(async ({ params, request }) => {
	const id = parseJobId(params.id);
	const result = await ingestPoints(db(), events(), id, await readJsonBody(request, 'the points as a JSON array'));
	// Completed blocks of steps feed fast downsampled reads (see metric-blocks.repository).
	if (result.accepted > 0) rollups().request(id);
	return json(result);
});
