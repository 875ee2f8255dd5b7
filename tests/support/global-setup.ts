import type { TestProject } from 'vitest/node';
import { startPostgresCluster } from './postgres-cluster';

declare module 'vitest' {
	export interface ProvidedContext {
		/** Superuser URL of a Postgres server the tests may create databases on. */
		postgresAdminUrl: string;
	}
}

/** One Postgres for the whole run: DATABASE_URL when given, else a throwaway cluster. */
export default async function setup(project: TestProject) {
	if (process.env.DATABASE_URL) {
		project.provide('postgresAdminUrl', process.env.DATABASE_URL);
		return;
	}
	const cluster = await startPostgresCluster();
	project.provide('postgresAdminUrl', cluster.url);
	return () => cluster.stop();
}
