import { mlflowApi, readMlflowBody, wrongMethod } from '$lib/server/mlflow/mlflow-http';
import { updateRun } from '$lib/server/mlflow/mlflow.service';
import { db, events } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = mlflowApi(async ({ request }) =>
	updateRun(db(), events(), await readMlflowBody(request))
);
export const fallback: RequestHandler = wrongMethod('POST');
