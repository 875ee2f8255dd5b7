/**
 * Suite "ingest": how many points per second training scripts can commit through the
 * real HTTP server (POST /api/training/jobs/{id}/metrics) on real Postgres: 10 concurrent
 * writers, each posting batches of 1,000 points to its own external job, as fast as the
 * answers come. Against the ceiling of a raw COPY of as many rows (the same keys and values)
 * into metric_rows, in rounds that alternate with the writers so that both meet the same machine.
 * A point is loss and accuracy: one stored row of two values.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { startPostgresCluster } from '../tests/support/postgres-cluster';
import { authorization, startServer } from '../tests/support/server';
import {
	CpuMeter,
	envNumber,
	MachineMeter,
	onAbort,
	postgresPids,
	printTable,
	round,
	SelfMeter,
	sleep,
	smokeOr,
	summarize,
	type Summary
} from './lib/measure';
import { ensureBuild } from './lib/build';

const WRITERS = 10;
const BATCH = 1_000;
/** loss and accuracy: the answer's accepted counts values. */
const VALUES_PER_POINT = 2;
const WINDOW_MS = envNumber('BENCH_INGEST_WINDOW_MS', 10_000, 1_000);
const ROUNDS = smokeOr(5, 2);
const WARMUP_MS = smokeOr(1_500, 200);
const TARGET_POINTS_PER_S = 100_000;
const TARGET_RATIO = 0.5;

export interface IngestFigures {
	writers: number;
	batch: number;
	points: number;
	seconds: number;
	pointsPerSecond: number;
	requestMs: Summary;
	serverCpuPercent: number;
	postgresCpuPercent: number;
	benchCpuPercent: number;
	machineCpuPercent: number;
	otherCpuPercent: number;
	cpuMicrosPerPoint: number;
	copy: { rows: number; seconds: number; rowsPerSecond: number; cpuMicrosPerPoint: number };
	ratio: number;
	roundRatios: number[];
	/** A retried batch (every point already stored): the idempotency check alone. */
	retryMs: Summary;
	/**
	 * Not what ships: the same rounds after dropping the metric_rows → jobs foreign key in the
	 * bench database, to show what its per-row check costs both paths.
	 */
	withoutForeignKey: { pointsPerSecond: number; copyRowsPerSecond: number; ratio: number };
	targets: { pointsPerSecond: number; ratio: number; met: { pointsPerSecond: boolean; ratio: boolean } };
}

/** The body of one batch: the columns COPY writes too (the server stamps recorded_at). */
function batchBody(firstStep: number): string {
	const points = [];
	for (let step = firstStep; step < firstStep + BATCH; step++) {
		points.push({ step, epoch: Math.ceil(step / 100), loss: Math.round((1 / step) * 1e6) / 1e6, accuracy: 0.5 });
	}
	return JSON.stringify(points);
}

async function copyRows(client: postgres.Sql, jobIds: string[], firstStep: number, stepsPerJob: number) {
	function* chunks(): Generator<string> {
		for (const id of jobIds) {
			let chunk = '';
			for (let step = firstStep; step < firstStep + stepsPerJob; step++) {
				// The row the writer stores for a point: position, step, epoch, key numbers (loss 0, accuracy 1), values.
				chunk += `${id}\t${step}\t${step}\t${Math.ceil(step / 100)}\t{0,1}\t{${Math.round((1 / step) * 1e6) / 1e6},0.5}\n`;
			}
			yield chunk;
		}
	}
	const started = performance.now();
	const writable = await client`copy metric_rows (job_id, position, step, epoch, keys, vals) from stdin`.writable();
	await pipeline(Readable.from(chunks()), writable);
	return { rows: jobIds.length * stepsPerJob, seconds: (performance.now() - started) / 1000 };
}

export async function runIngestSuite(): Promise<IngestFigures> {
	ensureBuild();
	const cluster = await startPostgresCluster();
	const forgetCluster = onAbort(() => cluster.stop());
	const raw = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const server = await startServer({ DATABASE_URL: cluster.url, VAPOR_DEMO: '0' });
	const forgetServer = onAbort(() => server.kill());
	try {
		const headers = { 'content-type': 'application/json', ...authorization() };
		const createJob = async (name: string) => {
			const response = await fetch(`${server.url}/api/training/jobs`, {
				method: 'POST',
				headers,
				body: JSON.stringify({ name, source: 'external', epochs: 1000, stepsPerEpoch: 1000 })
			});
			if (response.status !== 201) throw new Error(`create job → ${response.status}: ${await response.text()}`);
			return ((await response.json()) as { job: { id: string } }).job.id;
		};
		const writerJobs = await Promise.all(
			Array.from({ length: WRITERS }, (_, i) => createJob(`ingest writer ${i + 1}`))
		);
		// As many jobs that only COPY writes to: the same table and index, other keys.
		const copyJobs = await Promise.all(Array.from({ length: WRITERS }, (_, i) => createJob(`copy target ${i + 1}`)));
		for (const table of ['metric_rows', 'metric_keys', 'jobs'])
			await raw.unsafe(`alter table ${table} set (autovacuum_enabled = false)`);

		const nextStep = new Map(writerJobs.map((id) => [id, 1]));
		const durations: number[] = [];
		const post = async (jobId: string, body: string) => {
			const started = performance.now();
			const response = await fetch(`${server.url}/api/training/jobs/${jobId}/metrics`, {
				method: 'POST',
				headers,
				body
			});
			const answer = (await response.json()) as { accepted?: number; error?: string };
			if (response.status !== 200) throw new Error(`metrics → ${response.status}: ${answer.error}`);
			return { ms: performance.now() - started, accepted: answer.accepted! };
		};
		/** Every writer posts batch after batch until `ms` is over; returns the points committed. */
		const writeFor = async (ms: number, record: boolean) => {
			const end = performance.now() + ms;
			let committed = 0;
			await Promise.all(
				writerJobs.map(async (jobId) => {
					while (performance.now() < end) {
						const first = nextStep.get(jobId)!;
						// Bodies are built outside the timed request, as a script has its points ready.
						const body = batchBody(first);
						const { ms: took, accepted } = await post(jobId, body);
						nextStep.set(jobId, first + BATCH);
						committed += accepted / VALUES_PER_POINT;
						if (record) durations.push(took);
					}
				})
			);
			return committed;
		};

		console.log(`ingest: warming up ${WARMUP_MS / 1000} s …`);
		await writeFor(WARMUP_MS, false);

		/** Rounds of writers, each followed by a COPY of as many rows into the other jobs. */
		let copyStep = 1;
		const measureRounds = async (count: number, label: string) => {
			const rounds: { points: number; seconds: number; copyRows: number; copySeconds: number }[] = [];
			for (let r = 0; r < count; r++) {
				console.log(`ingest (${label}): round ${r + 1}/${count} …`);
				const started = performance.now();
				const points = await writeFor(WINDOW_MS / ROUNDS, false);
				const seconds = (performance.now() - started) / 1000;
				await sleep(200);
				const copied = await copyRows(raw, copyJobs, copyStep, Math.ceil(points / WRITERS));
				copyStep += Math.ceil(points / WRITERS);
				rounds.push({ points, seconds, copyRows: copied.rows, copySeconds: copied.seconds });
			}
			const pointsPerSecond =
				rounds.reduce((sum, r) => sum + r.points, 0) / rounds.reduce((sum, r) => sum + r.seconds, 0);
			const copyRowsPerSecond =
				rounds.reduce((sum, r) => sum + r.copyRows, 0) / rounds.reduce((sum, r) => sum + r.copySeconds, 0);
			return {
				pointsPerSecond: Math.round(pointsPerSecond),
				copyRowsPerSecond: Math.round(copyRowsPerSecond),
				ratio: round(pointsPerSecond / copyRowsPerSecond, 3)
			};
		};

		const serverCpu = new CpuMeter(() => [server.process.pid!]);
		const postgresCpu = new CpuMeter(() => postgresPids(cluster.dataDir));
		const self = new SelfMeter();
		const machine = new MachineMeter();
		const rounds: { points: number; seconds: number; serverCpu: number; postgresCpu: number; selfCpu: number }[] = [];
		const copies: { rows: number; seconds: number; cpuSeconds: number }[] = [];
		machine.start();
		const started = performance.now();
		for (let r = 0; r < ROUNDS; r++) {
			console.log(
				`ingest: round ${r + 1}/${ROUNDS}: ${WRITERS} writers for ${WINDOW_MS / ROUNDS / 1000} s, then COPY of as many rows …`
			);
			serverCpu.start();
			postgresCpu.start();
			self.start();
			const roundStart = performance.now();
			const points = await writeFor(WINDOW_MS / ROUNDS, true);
			const seconds = (performance.now() - roundStart) / 1000;
			rounds.push({
				points,
				seconds,
				serverCpu: serverCpu.stop(),
				postgresCpu: postgresCpu.stop(),
				selfCpu: self.stop()
			});

			await sleep(200);
			const copyPg = new CpuMeter(() => postgresPids(cluster.dataDir));
			const copySelf = new SelfMeter();
			copyPg.start();
			copySelf.start();
			const copied = await copyRows(raw, copyJobs, copyStep, Math.ceil(points / WRITERS));
			copyStep += Math.ceil(points / WRITERS);
			copies.push({ ...copied, cpuSeconds: ((copyPg.stop() + copySelf.stop()) * copied.seconds) / 100 });
		}
		const wall = (performance.now() - started) / 1000;
		const machineCpu = machine.stop();

		// A retried batch: the statement finds every point stored and writes nothing.
		const retryMs: number[] = [];
		const retryBody = batchBody(1);
		for (let i = 0; i < 50; i++) {
			const { ms, accepted } = await post(writerJobs[0]!, retryBody);
			if (accepted !== 0) throw new Error('a retried batch wrote points');
			retryMs.push(ms);
		}

		await raw.unsafe('alter table metric_rows drop constraint metric_rows_job_id_fkey');
		const withoutForeignKey = await measureRounds(2, 'without the foreign key');

		const points = rounds.reduce((sum, r) => sum + r.points, 0);
		const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
		const weighted = (pick: (r: (typeof rounds)[number]) => number) =>
			rounds.reduce((sum, r) => sum + pick(r) * r.seconds, 0) / seconds;
		const serverCpuPercent = weighted((r) => r.serverCpu);
		const postgresCpuPercent = weighted((r) => r.postgresCpu);
		const benchCpuPercent = weighted((r) => r.selfCpu);
		const copyRowsTotal = copies.reduce((sum, c) => sum + c.rows, 0);
		const copySeconds = copies.reduce((sum, c) => sum + c.seconds, 0);
		const pointsPerSecond = points / seconds;
		const copyRate = copyRowsTotal / copySeconds;
		const usedInRounds = ((serverCpuPercent + postgresCpuPercent + benchCpuPercent) / 100) * seconds;
		const usedInCopies = copies.reduce((sum, c) => sum + c.cpuSeconds, 0);
		const figures: IngestFigures = {
			writers: WRITERS,
			batch: BATCH,
			points,
			seconds: round(seconds, 2),
			pointsPerSecond: Math.round(pointsPerSecond),
			requestMs: summarize(durations),
			serverCpuPercent: round(serverCpuPercent),
			postgresCpuPercent: round(postgresCpuPercent),
			benchCpuPercent: round(benchCpuPercent),
			machineCpuPercent: round(machineCpu),
			otherCpuPercent: round(Math.max(0, (machineCpu * wall - 100 * (usedInRounds + usedInCopies)) / wall)),
			cpuMicrosPerPoint: round((usedInRounds * 1e6) / points),
			copy: {
				rows: copyRowsTotal,
				seconds: round(copySeconds, 2),
				rowsPerSecond: Math.round(copyRate),
				cpuMicrosPerPoint: round((usedInCopies * 1e6) / copyRowsTotal)
			},
			ratio: round(pointsPerSecond / copyRate, 3),
			roundRatios: rounds.map((r, i) => round(r.points / r.seconds / (copies[i]!.rows / copies[i]!.seconds), 3)),
			retryMs: summarize(retryMs),
			withoutForeignKey,
			targets: {
				pointsPerSecond: TARGET_POINTS_PER_S,
				ratio: TARGET_RATIO,
				met: {
					pointsPerSecond: pointsPerSecond >= TARGET_POINTS_PER_S,
					ratio: pointsPerSecond / copyRate >= TARGET_RATIO
				}
			}
		};

		console.log();
		printTable([
			{
				writers: WRITERS,
				batch: BATCH,
				'points/s': figures.pointsPerSecond,
				'request p50 ms': round(figures.requestMs.p50),
				'request p99 ms': round(figures.requestMs.p99),
				'COPY rows/s': figures.copy.rowsPerSecond,
				'ingest ÷ COPY': figures.ratio,
				'µs CPU/point': figures.cpuMicrosPerPoint,
				'COPY µs CPU/row': figures.copy.cpuMicrosPerPoint
			}
		]);
		console.log(
			`CPU during the rounds (% of one core): server ${figures.serverCpuPercent}, postgres ${figures.postgresCpuPercent}, ` +
				`bench ${figures.benchCpuPercent}; other work on the machine ${figures.otherCpuPercent}`
		);
		console.log(
			`per-round ingest ÷ COPY: ${figures.roundRatios.join(', ')}; retried batch p50 ${round(figures.retryMs.p50)} ms`
		);
		console.log(
			`without the metric_rows → jobs foreign key (not what ships): ${withoutForeignKey.pointsPerSecond} ` +
				`points/s, COPY ${withoutForeignKey.copyRowsPerSecond} rows/s, ratio ${withoutForeignKey.ratio}`
		);
		console.log(
			`targets: ≥ ${TARGET_POINTS_PER_S.toLocaleString('en-US')} points/s ${figures.targets.met.pointsPerSecond ? 'met' : 'NOT met'}; ` +
				`≥ ${TARGET_RATIO} of COPY ${figures.targets.met.ratio ? 'met' : 'NOT met'}`
		);
		return figures;
	} finally {
		await server.stop();
		forgetServer();
		await raw.end();
		cluster.stop();
		forgetCluster();
	}
}
