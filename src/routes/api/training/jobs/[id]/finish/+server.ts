import { json } from '@sveltejs/kit';
import { api, readJsonBody } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { finishJob } from '$lib/server/ingest/ingest.service';
import { db, events } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

/** An external job's script says it is done: `{ status: "completed" | "failed", error? }`. */
export const POST: RequestHandler = api(async ({ params, request }) => {
	const id = parseJobId(params.id);
	return json({
		job: await finishJob(
			db(),
			events(),
			id,
			await readJsonBody(request, '{ "status": "completed" } or { "status": "failed", "error": "…" }')
		)
	});
});
