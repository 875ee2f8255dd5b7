import { json } from '@sveltejs/kit';
import { api, readJsonBody } from '$lib/server/http';
import { createJob, getJobs } from '$lib/server/jobs/jobs.service';
import { db, events } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(async () => json({ jobs: await getJobs(db()) }));

export const POST: RequestHandler = api(async ({ request }) => {
	const job = await createJob(db(), events(), await readJsonBody(request));
	return json({ job }, { status: 201, headers: { Location: `/api/training/jobs/${job.id}` } });
});
