import { api } from '$lib/server/http';
import { jobsFeed } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = api(({ request }) => jobsFeed().open(request.signal));
