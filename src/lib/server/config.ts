import path from 'node:path';

/** Settings read from the environment; every variable is listed in the README. */
export interface VaporConfig {
	/** Real Postgres when set; otherwise the embedded PGlite database in `dataDir`. */
	databaseUrl: string | undefined;
	dataDir: string;
	/** Create demo jobs on the first start of an empty database. */
	demo: boolean;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): VaporConfig {
	return {
		databaseUrl: env.DATABASE_URL?.trim() || undefined,
		dataDir: path.resolve(env.VAPOR_DATA_DIR?.trim() || '.vapor'),
		demo: env.VAPOR_DEMO !== '0'
	};
}
