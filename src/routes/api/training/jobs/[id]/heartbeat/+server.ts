import { json } from '@sveltejs/kit';
import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { heartbeat } from '$lib/server/ingest/heartbeat.service';
import { db, events } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

/** An external job's script is alive (no body needed): see VAPOR_LOST_AFTER_S in the README. */
export const POST: RequestHandler = api(async ({ params }) =>
	json(await heartbeat(db(), events(), parseJobId(params.id)))
);
