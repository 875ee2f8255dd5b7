import { mlflowApi, readMlflowBody, wrongMethod } from '$lib/server/mlflow/mlflow-http';
import { logMetric } from '$lib/server/mlflow/mlflow.service';
import { db, events, rollups } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = mlflowApi(async ({ request }) =>
	logMetric(db(), events(), rollups(), await readMlflowBody(request))
);
export const fallback: RequestHandler = wrongMethod('POST');
