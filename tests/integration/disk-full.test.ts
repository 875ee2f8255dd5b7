import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, stepsUpTo } from '../support/api-client';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster';
import { authorization, startServer, type RunningServer } from '../support/server';

/**
 * A full disk under the database (issue 17, item 1). The data lives on a small tmpfs
 * made for the test; a filler file takes its space, and deleting it frees the space.
 */
const MB = 1024 ** 2;
/** The default VAPOR_DISK_RESERVE_MB: these tests run with it. */
const RESERVE_MB = 64;

interface Volume {
	dir: string;
	freeBytes(): number;
	/** Leaves about `freeMb` free (a filler file takes the rest). */
	fillTo(freeMb: number): void;
	/** Deletes the filler. */
	free(): void;
	remove(): void;
}

/** A tmpfs of `sizeMb`, or why none could be mounted (mounting needs root, or CAP_SYS_ADMIN). */
function mountVolume(sizeMb: number): Volume | string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-small-disk-'));
	try {
		execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
	} catch (error) {
		fs.rmSync(dir, { recursive: true, force: true });
		return `cannot mount a ${sizeMb} MB tmpfs here (${String((error as { stderr?: unknown }).stderr ?? error).trim()})`;
	}
	const filler = path.join(dir, 'filler');
	const freeBytes = () => {
		const stats = fs.statfsSync(dir);
		return stats.bavail * stats.bsize;
	};
	return {
		dir,
		freeBytes,
		fillTo(freeMb) {
			const extra = freeBytes() - freeMb * MB;
			if (extra > 0) fs.appendFileSync(filler, Buffer.alloc(extra, 1));
		},
		free: () => fs.rmSync(filler, { force: true }),
		remove() {
			execFileSync('umount', ['-l', dir]);
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}

const batch = (from: number, count: number) =>
	Array.from({ length: count }, (_, i) => ({ step: from + i, loss: 1 / (from + i) }));

async function post(url: string, jobId: string, points: unknown[]) {
	const response = await fetch(`${url}/api/training/jobs/${jobId}/metrics`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...authorization() },
		body: JSON.stringify(points),
		// Before the fix this request never got an answer (the server wedged).
		signal: AbortSignal.timeout(30_000)
	});
	return { status: response.status, body: (await response.json()) as { error?: string; accepted?: number } };
}

async function health(url: string) {
	const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
	return { status: response.status, body: (await response.json()) as { disk?: string; error?: string } };
}

async function timedStop(server: RunningServer): Promise<number> {
	const started = performance.now();
	await server.stop();
	return performance.now() - started;
}

/** Whether this machine lets the tests mount a tmpfs at all; the volumes are made in beforeAll. */
function mountProblem(): string | undefined {
	const probe = mountVolume(1);
	if (typeof probe === 'string') return probe;
	probe.remove();
	return undefined;
}
const cannotMount = mountProblem();
if (cannotMount) console.warn(`disk-full tests skipped: ${cannotMount}`);

function mounted(sizeMb: number): Volume {
	const volume = mountVolume(sizeMb);
	if (typeof volume === 'string') throw new Error(volume);
	return volume;
}

// Mounting needs root (or CAP_SYS_ADMIN); without it there is no small disk to fill.
describe.skipIf(cannotMount !== undefined)('a full disk under the embedded database', () => {
	let volume: Volume;
	let server: RunningServer;

	beforeAll(async () => {
		// Room for the data folder (about 40 MB at start, WAL segments of 16 MB as it grows; on a
		// loaded machine checkpoints lag and it reached 146 MB) plus the 64 MB reserve once the
		// filler is gone.
		volume = mounted(320);
		server = await startServer({ VAPOR_DATA_DIR: volume.dir, VAPOR_SIM_STEP_MS: '50' });
	}, 150_000);
	afterAll(async () => {
		await server?.kill();
		volume?.remove();
	});

	it('answers a write that cannot be stored with 507 naming the cause, stays responsive, says why in /healthz, takes writes again once space is freed, and stops on SIGTERM', async () => {
		const api = apiClient(server.url);
		const external = await api.createJob({ name: 'fills the disk', source: 'external', stepsPerEpoch: 1000 });
		const simulated = await api.createJob({ name: 'trains meanwhile', epochs: 1000 });
		await api.start(simulated.id);

		// A little more than the reserve is left: the first batches fit, then writes are refused.
		volume.fillTo(RESERVE_MB + 6);
		let step = 1;
		let refused: Awaited<ReturnType<typeof post>> | undefined;
		for (let i = 0; i < 20 && !refused; i++) {
			// A cut connection (once in a CI run, under load) is reported with what the server said.
			const answer = await post(server.url, external.id, batch(step, 10_000)).catch((error: Error) => {
				throw new Error(
					`batch ${i + 1} at step ${step}: ${error.message} (${String(error.cause)}); server:\n${server.output().slice(-4_000)}`
				);
			});
			if (answer.status === 200) step += 10_000;
			else refused = answer;
		}
		expect(step, 'batches are stored while the disk has room').toBeGreaterThan(1);
		expect(refused?.status).toBe(507);
		expect(refused?.body.error).toMatch(/disk is full: \d+ MB free .*VAPOR_DISK_RESERVE_MB.*Nothing was stored/);

		// Responsive: /healthz says why, reads and static files answer.
		const full = await health(server.url);
		expect(full.status).toBe(503);
		expect(full.body).toMatchObject({ database: 'up', disk: 'full' });
		expect(full.body.error).toMatch(/disk is full/);
		expect((await fetch(`${server.url}/favicon.svg`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
		expect((await api.allPoints(external.id)).map((p) => p.step)).toEqual(stepsUpTo(step - 1));
		expect(server.output()).toMatch(/simulator tick failed; retrying.*disk is full/);

		// Space freed: the refused batch is taken, training goes on, /healthz is green.
		volume.free();
		// The server asks the disk at most every 100 ms: a batch sent at once may still be refused.
		await expect
			.poll(async () => (await health(server.url)).body, {
				timeout: 10_000,
				message: `disk ok again (${Math.round(volume.freeBytes() / MB)} MB free)`
			})
			.toMatchObject({ disk: 'ok' });
		const retried = await post(server.url, external.id, batch(step, 10_000));
		expect(retried).toMatchObject({ status: 200, body: { accepted: 10_000 } });
		step += 10_000;
		await expect.poll(async () => (await health(server.url)).status, { timeout: 10_000 }).toBe(200);
		const trained = (await api.getJob(simulated.id)).currentStep;
		await expect
			.poll(async () => (await api.getJob(simulated.id)).currentStep, { timeout: 20_000 })
			.toBeGreaterThan(trained);
		expect((await api.allPoints(external.id)).map((p) => p.step)).toEqual(stepsUpTo(step - 1));

		// Stoppable: before the fix SIGTERM was ignored.
		expect(await timedStop(server)).toBeLessThan(5_000);
	}, 240_000);
});

describe.skipIf(cannotMount !== undefined)('a full disk under PostgreSQL', () => {
	let volume: Volume;
	let cluster: PostgresCluster;
	let server: RunningServer;

	beforeAll(async () => {
		volume = mounted(96);
		cluster = await startPostgresCluster({ parent: volume.dir });
		server = await startServer({ DATABASE_URL: cluster.url, VAPOR_DB_TIMEOUT_MS: '3000' });
	}, 150_000);
	afterAll(async () => {
		await server?.kill();
		cluster?.stop();
		volume?.remove();
	});

	it('answers 507 (or 503 while PostgreSQL recovers) instead of hanging, and takes writes again once space is freed', async () => {
		const api = apiClient(server.url);
		const job = await api.createJob({ name: 'fills the database disk', source: 'external', stepsPerEpoch: 1000 });
		volume.fillTo(3);
		let step = 1;
		let refused: Awaited<ReturnType<typeof post>> | undefined;
		for (let i = 0; i < 20 && !refused; i++) {
			const answer = await post(server.url, job.id, batch(step, 10_000));
			if (answer.status === 200) step += 10_000;
			else refused = answer;
		}
		expect([503, 507]).toContain(refused?.status);
		expect(refused?.body.error).toMatch(refused?.status === 507 ? /disk is full/ : /database is not reachable/);
		expect([200, 503]).toContain((await health(server.url)).status);

		volume.free();
		await expect
			.poll(async () => (await post(server.url, job.id, batch(step, 10_000))).status, {
				timeout: 60_000,
				interval: 500
			})
			.toBe(200);
		expect((await api.allPoints(job.id)).map((p) => p.step)).toEqual(stepsUpTo(step + 9_999));
		await expect.poll(async () => (await health(server.url)).status, { timeout: 10_000 }).toBe(200);
	}, 240_000);
});
