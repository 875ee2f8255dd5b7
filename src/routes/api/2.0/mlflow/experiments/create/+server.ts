import { mlflowApi, readMlflowBody, wrongMethod } from '$lib/server/mlflow/mlflow-http';
import { createExperiment } from '$lib/server/mlflow/mlflow.service';
import { db } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = mlflowApi(async ({ request }) =>
	createExperiment(db(), await readMlflowBody(request))
);
export const fallback: RequestHandler = wrongMethod('POST');
