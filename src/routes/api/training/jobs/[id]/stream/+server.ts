import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { openJobStream } from '$lib/server/stream/job-stream';
import { parseStreamFormat, parseStreamPosition } from '$lib/server/stream/stream-position';
import { getJob } from '$lib/server/jobs/jobs.service';
import { streamHeadResponse } from '$lib/server/stream/sse-connection';
import { db, streams } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(async ({ params, request, url }) => {
	const id = parseJobId(params.id);
	const format = parseStreamFormat(url.searchParams.get('v'), url.searchParams.get('keys'));
	const position = parseStreamPosition(request.headers.get('last-event-id'), url.searchParams.get('after'));
	return openJobStream(streams(), id, position, request.signal, format);
});

export const HEAD: RequestHandler = api(async ({ params }) => {
	await getJob(db(), parseJobId(params.id));
	return streamHeadResponse();
});
