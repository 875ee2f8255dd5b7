import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../support/databases';

// patches/postgres+3.4.9.patch (see the README): a reserved connection whose backend is
// terminated must make its queries fail, not kill the process, and the pool must work
// after it. Without the patch the child process dies of "Cannot read properties of null
// (reading 'write')" at the second query.
describe('postgres.js with a reserved connection whose backend is terminated (porsager/postgres#1208)', () => {
	let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
	beforeAll(async () => {
		database = await createPostgresDatabase();
	});
	afterAll(async () => {
		await database?.drop();
	});

	it('rejects the queries on it with CONNECTION_CLOSED, the process lives on, and later queries work', async () => {
		const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
			execFile(
				process.execPath,
				[path.resolve('tests/support/reserved-connection-repro.mjs'), database.url],
				{ timeout: 30_000 },
				(error, stdout, stderr) =>
					resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
			);
		});
		expect(result.stderr).not.toMatch(/TypeError/);
		expect(result.code, result.stderr).toBe(0);
		expect(JSON.parse(result.stdout)).toEqual({
			firstAfterKill: 'CONNECTION_CLOSED',
			secondAfterKill: 'CONNECTION_CLOSED',
			poolAfterRelease: 42,
			kyselyOnKilled: ['CONNECTION_CLOSED', 'CONNECTION_CLOSED'],
			kyselyAfter: 7
		});
	});
});

// The same patch: postgres.js drops the promise of the array-type query it runs first on
// every new connection (porsager/postgres#1192, #1205). A connection reset at that moment
// was an unhandled rejection: the ECONNRESET that crashed a Vapor instance right after a
// PostgreSQL restart under the chaos bench.
describe('postgres.js with a connection reset while it fetches array types (porsager/postgres#1192)', () => {
	let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
	beforeAll(async () => {
		database = await createPostgresDatabase();
	});
	afterAll(async () => {
		await database?.drop();
	});

	it('fails only the query that was waiting, the process lives on, and the next connection works', async () => {
		const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
			execFile(
				process.execPath,
				[path.resolve('tests/support/type-fetch-repro.mjs'), database.url],
				{ timeout: 30_000 },
				(error, stdout, stderr) =>
					resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
			);
		});
		expect(result.stderr).not.toMatch(/ECONNRESET/);
		expect(result.code, result.stderr).toBe(0);
		expect(JSON.parse(result.stdout)).toEqual({ resets: 1, first: 'ECONNRESET', after: 42 });
	});
});
