import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/lib/server/db';
import { migrateToLatest } from '../../src/lib/server/db/migrate';
import { makePgliteTemplate } from './pglite-template';
import { startPostgresCluster } from './postgres-cluster';

declare module 'vitest' {
	export interface ProvidedContext {
		/** Superuser URL of a Postgres server the tests may create databases on. */
		postgresAdminUrl: string;
		/** A database on it with every migration applied and no rows, for `create database … template`. */
		postgresTemplate: string;
	}
}

/** Creates a database on the server at `adminUrl` and applies every migration; returns its name and its drop. */
async function makePostgresTemplate(adminUrl: string): Promise<{ name: string; drop(): Promise<void> }> {
	const name = `vapor_template_${randomBytes(6).toString('hex')}`;
	const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
	await admin.unsafe(`create database ${name}`);
	const url = new URL(adminUrl);
	url.pathname = `/${name}`;
	const handle = openDatabase({ kind: 'postgres', url: url.toString() });
	try {
		await migrateToLatest(handle.db);
	} finally {
		// `create database … template` needs the template to have no connections.
		await handle.close();
	}
	return {
		name,
		async drop() {
			await admin.unsafe(`drop database if exists ${name} with (force)`);
			await admin.end();
		}
	};
}

/**
 * One Postgres for the whole run (DATABASE_URL when given, else a throwaway cluster) with a
 * migrated template database on it, and one migrated PGlite cluster that new server data
 * folders are copied from.
 */
export default async function setup(project: TestProject) {
	const given = process.env.DATABASE_URL;
	// Side by side: PGlite's initdb is CPU in this process, Postgres's initdb another process.
	const [removePgliteTemplate, cluster] = await Promise.all([
		makePgliteTemplate(),
		given ? undefined : startPostgresCluster()
	]);
	const adminUrl = given ?? cluster!.url;
	const template = await makePostgresTemplate(adminUrl);
	project.provide('postgresAdminUrl', adminUrl);
	project.provide('postgresTemplate', template.name);
	return async () => {
		await template.drop();
		cluster?.stop();
		removePgliteTemplate();
	};
}
