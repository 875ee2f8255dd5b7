import { json } from '@sveltejs/kit';
import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { cloneJob } from '$lib/server/jobs/transitions';
import { db, events } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = api(async ({ params }) => {
	const job = await cloneJob(db(), events(), parseJobId(params.id));
	return json({ job }, { status: 201, headers: { Location: `/api/training/jobs/${job.id}` } });
});
