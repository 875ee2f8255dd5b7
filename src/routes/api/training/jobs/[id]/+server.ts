import { json } from '@sveltejs/kit';
import { api, readJsonBody } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { deleteJob } from '$lib/server/jobs/job-deleter.service';
import { patchJob } from '$lib/server/jobs/job-edits';
import { getJob } from '$lib/server/jobs/jobs.service';
import { db, deleter, events } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(async ({ params }) => json({ job: await getJob(db(), parseJobId(params.id)) }));

export const PATCH: RequestHandler = api(async ({ params, request }) => {
	const body = await readJsonBody(request, 'the change as a JSON object, such as {"tags": ["baseline"]}');
	return json({ job: await patchJob(db(), events(), parseJobId(params.id), body) });
});

/** 202: the job is gone from every read now; its points are deleted in the background. */
export const DELETE: RequestHandler = api(async ({ params }) => {
	const accepted = await deleteJob(db(), deleter(), parseJobId(params.id));
	return json({ deleting: accepted }, { status: 202 });
});
