import { json } from '@sveltejs/kit';
import { api, readJsonBody } from '$lib/server/http';
import { createJob, listRunsFromParams } from '$lib/server/jobs/jobs.service';
import { db, events } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(async ({ url }) => json(await listRunsFromParams(db(), url.searchParams)));

export const POST: RequestHandler = api(async ({ request }) => {
	const job = await createJob(db(), events(), await readJsonBody(request));
	return json({ job }, { status: 201, headers: { Location: `/api/training/jobs/${job.id}` } });
});
