import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestStore, type TestStore } from '../support/databases';
import { authorization, startServer, type RunningServer } from '../support/server';

const TSX = path.resolve('node_modules/.bin/tsx');

describe.each(BACKENDS)('npm run token (%s)', (backend) => {
	let store: TestStore;
	let server: RunningServer | undefined;

	/** Runs scripts/token.ts as `npm run token -- …` would, on this store. */
	function token(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
		return new Promise((resolve) => {
			execFile(
				TSX,
				['scripts/token.ts', ...args],
				{ env: { PATH: process.env.PATH ?? '', ...store.env }, timeout: 60_000 },
				(error, stdout, stderr) =>
					resolve({
						status: error ? ((error as { code?: number }).code ?? 1) : 0,
						stdout: stdout.trim(),
						stderr: stderr.trim()
					})
			);
		});
	}
	const createJob = (token: string) =>
		fetch(`${server!.url}/api/training/jobs`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
			body: JSON.stringify({ name: 'with a CLI token', source: 'external' })
		});

	beforeAll(async () => {
		store = await createTestStore(backend);
	});
	afterAll(async () => {
		await server?.stop();
		await store?.dispose();
	});

	it(
		'creates a token shown once, lists it by hint, revokes it; the server then answers 401 "revoked"',
		{ timeout: 240_000 },
		async () => {
			// On PGlite the CLI owns the database while no server runs; on Postgres they share it.
			if (backend === 'postgres') server = await startServer(store.env);
			const created = await token('create', 'ci runner');
			expect(created.status, created.stderr).toBe(0);
			expect(created.stdout).toMatch(/^vpr_[A-Za-z0-9_-]{43}$/);
			expect(created.stderr).toMatch(/Created token "ci runner".*\nCopy it now: only its hash is stored/);
			const secret = created.stdout;

			const duplicate = await token('create', 'ci runner');
			expect(duplicate.status).toBe(1);
			expect(duplicate.stderr).toMatch(/already named "ci runner"/);

			const listed = await token('list');
			expect(listed.status).toBe(0);
			expect(listed.stdout).toMatch(
				new RegExp(`ci runner\\s+${secret.slice(0, 8)}…${secret.slice(-4)}\\s+\\S+ \\S+\\s+active`)
			);
			expect(listed.stdout).not.toContain(secret);

			server ??= await startServer(store.env);
			expect((await createJob(secret)).status).toBe(201);

			if (backend === 'pglite') {
				// The running server holds the embedded database: the CLI says so and what to do instead.
				const locked = await token('revoke', 'ci runner');
				expect(locked.status).toBe(1);
				expect(locked.stderr).toMatch(/Another Vapor process \(pid \d+\) is using the embedded database/);
				expect(locked.stderr).toMatch(/Settings page \(\/settings\)/);
				await server.stop();
				const revoked = await token('revoke', 'ci runner');
				expect(revoked.status, revoked.stderr).toBe(0);
				expect(revoked.stdout).toMatch(/Revoked token "ci runner"/);
				server = await startServer(store.env, { port: server.port });
			} else {
				// On Postgres the CLI works beside a running server; by id as well as by name.
				const id = /^ci runner\s+\S+\s+\S+ \S+\s+active\s+(\S+)$/m.exec(listed.stdout)![1]!;
				const revoked = await token('revoke', id);
				expect(revoked.status, revoked.stderr).toBe(0);
				expect(revoked.stdout).toMatch(new RegExp(`Revoked token "ci runner" \\(.*, id ${id}\\)`));
				expect((await token('list')).stdout).toMatch(/ci runner\s+\S+\s+\S+ \S+\s+revoked /);
				expect(await token('revoke', 'ci runner')).toMatchObject({
					status: 1,
					stderr: 'No active token is named or has the id "ci runner".'
				});
			}

			const jobsBefore = (
				(await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json()) as {
					jobs: unknown[];
				}
			).jobs.length;
			const refused = await createJob(secret);
			expect(refused.status).toBe(401);
			expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
			expect((await refused.json()).error).toMatch(
				/The token "ci runner" \(vpr_.{4}….{4}\) was revoked on \d{4}-\d\d-\d\d \d\d:\d\d UTC/
			);
			expect(
				(
					(await (await fetch(`${server.url}/api/training/jobs`, { headers: authorization() })).json()) as {
						jobs: unknown[];
					}
				).jobs.length
			).toBe(jobsBefore);
		}
	);
});

describe('npm run token usage', () => {
	it('explains its usage', async () => {
		const run = (...args: string[]) =>
			new Promise<{ status: number | null; stderr: string }>((resolve) =>
				execFile(
					TSX,
					['scripts/token.ts', ...args],
					{ env: { PATH: process.env.PATH ?? '' } },
					(error, _stdout, stderr) => resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stderr })
				)
			);
		const usage = await run('rotate');
		expect(usage.status).toBe(2);
		expect(usage.stderr).toMatch(/Unknown command "rotate"[\s\S]*npm run token -- create NAME/);
		expect((await run('create')).status).toBe(2);
	});
});
