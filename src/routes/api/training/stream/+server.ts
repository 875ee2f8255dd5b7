import { api } from '$lib/server/http';
import { streamHeadResponse } from '$lib/server/stream/sse-connection';
import { jobsFeed } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(({ request }) => jobsFeed().open(request.signal));
export const HEAD: RequestHandler = () => streamHeadResponse();
