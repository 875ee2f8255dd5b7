import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { exportMetrics } from '$lib/server/metrics/metrics-export';
import { parseKeysParam } from '$lib/server/metrics/metrics-query';
import { db, exportLimits } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

/** Every value of the job (or of `?keys=`) as a CSV download, streamed from the database page by page. */
export const GET: RequestHandler = api(async ({ params, request, url, getClientAddress, platform }) =>
	exportMetrics(db(), parseJobId(params.id), 'csv', {
		signal: request.signal,
		keys: parseKeysParam(url.searchParams.get('keys')),
		limits: exportLimits(),
		client: getClientAddress(),
		socket: platform?.req?.socket
	})
);
