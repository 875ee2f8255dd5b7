import { api } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { exportMetrics } from '$lib/server/metrics/metrics-export';
import { db, exportLimits } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

/** Every point of the job as a CSV download, streamed from the database page by page. */
export const GET: RequestHandler = api(async ({ params, request, getClientAddress, platform }) =>
	exportMetrics(db(), parseJobId(params.id), 'csv', {
		signal: request.signal,
		limits: exportLimits(),
		client: getClientAddress(),
		socket: platform?.req?.socket
	})
);
