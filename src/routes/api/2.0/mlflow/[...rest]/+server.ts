import { notStored } from '$lib/server/mlflow/mlflow-http';
import type { RequestHandler } from './$types';

/** MLflow's API outside the tracking subset Vapor stores (artifacts, models, searches, …): MLflow's ENDPOINT_NOT_FOUND. */
export const fallback: RequestHandler = async (event) => notStored(event);
