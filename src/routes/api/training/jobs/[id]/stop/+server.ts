import { json } from '@sveltejs/kit';
import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { stopJob } from '$lib/server/jobs/transitions';
import { db, events } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = api(async ({ params }) =>
	json({ job: await stopJob(db(), events(), parseJobId(params.id)) })
);
