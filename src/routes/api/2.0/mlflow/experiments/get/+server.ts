import { mlflowApi, queryOf, wrongMethod } from '$lib/server/mlflow/mlflow-http';
import { getExperiment } from '$lib/server/mlflow/mlflow.service';
import { db } from '$lib/server/vapor';
import type { RequestHandler } from './$types';

/** The mlflow client sends this call as a GET with its fields in the query. */
export const GET: RequestHandler = mlflowApi(async ({ url }) => getExperiment(db(), queryOf(url)));
export const fallback: RequestHandler = wrongMethod('GET');
