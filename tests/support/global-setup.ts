import type { TestProject } from 'vitest/node';
import { makePgliteTemplate } from './pglite-template';
import { startPostgresCluster } from './postgres-cluster';

declare module 'vitest' {
	export interface ProvidedContext {
		/** Superuser URL of a Postgres server the tests may create databases on. */
		postgresAdminUrl: string;
	}
}

/**
 * One Postgres for the whole run (DATABASE_URL when given, else a throwaway cluster) and
 * one initialised PGlite cluster that new server data folders are copied from.
 */
export default async function setup(project: TestProject) {
	const removeTemplate = await makePgliteTemplate();
	if (process.env.DATABASE_URL) {
		project.provide('postgresAdminUrl', process.env.DATABASE_URL);
		return removeTemplate;
	}
	const cluster = await startPostgresCluster();
	project.provide('postgresAdminUrl', cluster.url);
	return () => {
		cluster.stop();
		removeTemplate();
	};
}
