/**
 * Suite "export": GET /api/training/jobs/{id}/metrics.csv of a 100,000- and a
 * 1,000,000-point job through the built server (adapter-node) on real Postgres. Time,
 * bytes, and the server's RSS sampled every 10 ms during the download: the export reads
 * 5,000 rows at a time and waits for the client, so the peak must not grow with the job.
 * Each size gets a fresh server (same starting point), warmed by a small export first.
 */
import postgres from 'postgres';
import { startPostgresCluster } from '../tests/support/postgres-cluster';
import { authorization, startServer, type RunningServer, BENCH_READS } from '../tests/support/server';
import {
	cpuSeconds,
	envNumber,
	envNumbers,
	memoryMiB,
	onAbort,
	printTable,
	round,
	sleep,
	smokeOr
} from './lib/measure';
import { ensureBuild } from './lib/build';
import { seedPoints } from '../tests/support/points';

const SIZES = envNumbers('BENCH_EXPORT_SIZES', [100_000, 1_000_000], [2_000]);
const WARMUP_POINTS = smokeOr(5_000, 500);
const SAMPLE_MS = 10;
const T0 = Date.parse('2026-11-29T00:00:00.000Z');
/** Runs of each download; the figures are of the fastest, the RSS peak of all. */
const REPEATS = envNumber('BENCH_EXPORT_REPEATS', 2, 1);

export interface ExportFigures {
	points: number;
	format: 'csv' | 'json';
	seconds: number;
	bytes: number;
	megabytesPerSecond: number;
	pointsPerSecond: number;
	lines?: number;
	serverCpuPercent: number;
	serverRssMiB: { before: number; peak: number; after: number; growth: number };
	/** The highest RSS seen by the time each tenth of the body had arrived (MiB): flat once the heap has settled. */
	rssByTenth: number[];
}

async function createJob(url: string, name: string): Promise<string> {
	const response = await fetch(`${url}/api/training/jobs`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...authorization() },
		body: JSON.stringify({ name, baseModel: 'bert-base', dataset: 'imdb', epochs: 1000 })
	});
	if (!response.ok) throw new Error(`creating a job: ${response.status} ${await response.text()}`);
	return ((await response.json()) as { job: { id: string } }).job.id;
}

/** Downloads the export, counting bytes and newlines, while sampling the server's RSS. */
async function download(
	server: RunningServer,
	jobId: string,
	format: 'csv' | 'json',
	points: number
): Promise<ExportFigures> {
	const pid = server.process.pid!;
	global.gc?.();
	await sleep(200);
	const before = memoryMiB(pid).rss;
	let peak = before;
	let bytes = 0;
	// Two values (loss, accuracy) per point: two long-form CSV lines, two JSON entries.
	const expectedBytes = points * (format === 'csv' ? 110 : 160);
	const rssByTenth = Array.from({ length: 10 }, () => 0);
	const sampler = setInterval(() => {
		const rss = memoryMiB(pid).rss;
		peak = Math.max(peak, rss);
		const tenth = Math.min(9, Math.floor((10 * bytes) / expectedBytes));
		for (let t = tenth; t < 10; t++) rssByTenth[t] = Math.max(rssByTenth[t]!, rss);
	}, SAMPLE_MS);
	const cpuBefore = cpuSeconds(pid)!;
	const started = performance.now();
	const response = await fetch(`${server.url}/api/training/jobs/${jobId}/metrics.${format}`);
	if (!response.ok || !response.body) throw new Error(`export: ${response.status} ${await response.text()}`);
	let lines = 0;
	for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
		bytes += chunk.byteLength;
		for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
	}
	const seconds = (performance.now() - started) / 1000;
	const cpu = cpuSeconds(pid)! - cpuBefore;
	clearInterval(sampler);
	peak = Math.max(peak, memoryMiB(pid).rss);
	const after = memoryMiB(pid).rss;
	// Long form: a line per value, two per point, and the header.
	if (format === 'csv' && lines !== 2 * points + 1)
		throw new Error(`the CSV of ${points} points has ${lines} lines, not ${2 * points + 1}`);
	return {
		points,
		format,
		seconds: round(seconds, 2),
		bytes,
		megabytesPerSecond: round(bytes / 1e6 / seconds),
		pointsPerSecond: Math.round(points / seconds),
		...(format === 'csv' ? { lines } : {}),
		serverCpuPercent: round((100 * cpu) / seconds),
		serverRssMiB: { before: round(before), peak: round(peak), after: round(after), growth: round(peak - before) },
		rssByTenth: rssByTenth.map((value) => round(value))
	};
}

export async function runExportSuite() {
	const build = ensureBuild();
	const cluster = await startPostgresCluster();
	const forgetCluster = onAbort(() => cluster.stop());
	const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const env = { DATABASE_URL: cluster.url, VAPOR_DEMO: '0', ...BENCH_READS };
	const results: ExportFigures[] = [];
	const jobs = new Map<number, string>();
	try {
		// One server to migrate and create the jobs; the points go in through the write path (loss and accuracy per step).
		const setup = await startServer(env);
		const forgetSetup = onAbort(() => setup.kill());
		try {
			for (const size of [WARMUP_POINTS, ...SIZES]) {
				const id = await createJob(setup.url, `export bench ${size}`);
				const started = performance.now();
				await seedPoints(cluster.url, id, size, (step) => ({
					epoch: Math.ceil(step / 100),
					loss: 0.1 + 2.2 * Math.exp(-step / 20_000) * (1 + 0.05 * Math.sin(step * 12.9898)),
					accuracy: Math.min(1, 0.1 + step / 1_200_000),
					recordedAt: new Date(T0 + step * 200)
				}));
				console.log(
					`export: inserted ${size.toLocaleString('en')} points in ${round((performance.now() - started) / 1000, 1)} s`
				);
				jobs.set(size, id);
			}
			await sql`vacuum analyze metric_rows`;
			await sql`vacuum analyze metric_keys`;
		} finally {
			await setup.stop();
			forgetSetup();
		}

		const runs: [number, 'csv' | 'json'][] = [
			...SIZES.map((size) => [size, 'csv'] as [number, 'csv']),
			[Math.max(...SIZES), 'json']
		];
		for (const [size, format] of runs) {
			const server = await startServer(env);
			const forget = onAbort(() => server.kill());
			try {
				await download(server, jobs.get(WARMUP_POINTS)!, 'csv', WARMUP_POINTS);
				// Time and throughput of the fastest run; RSS of the first (from the warmed, fresh server)
				// with the peak over all runs.
				const runs: ExportFigures[] = [];
				for (let run = 0; run < REPEATS; run++) {
					console.log(
						`export: ${size.toLocaleString('en')} points as ${format.toUpperCase()}, run ${run + 1} of ${REPEATS} …`
					);
					runs.push(await download(server, jobs.get(size)!, format, size));
				}
				const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
				const before = runs[0]!.serverRssMiB.before;
				const peak = Math.max(...runs.map((r) => r.serverRssMiB.peak));
				results.push({
					...best,
					serverRssMiB: { before, peak, after: runs.at(-1)!.serverRssMiB.after, growth: round(peak - before) },
					rssByTenth: runs[0]!.rssByTenth
				});
			} finally {
				await server.stop();
				forget();
			}
		}
	} finally {
		await sql.end({ timeout: 5 });
		cluster.stop();
		forgetCluster();
	}

	console.log(
		`\nexport: GET …/metrics.{csv,json} through the built server on Postgres, pages of 5,000 rows; RSS sampled every ${SAMPLE_MS} ms`
	);
	printTable(
		results.map((r) => ({
			points: r.points,
			format: r.format,
			seconds: r.seconds,
			MB: round(r.bytes / 1e6, 1),
			'MB/s': r.megabytesPerSecond,
			'points/s': r.pointsPerSecond,
			'server CPU %': r.serverCpuPercent,
			'RSS before MiB': r.serverRssMiB.before,
			'RSS peak MiB': r.serverRssMiB.peak,
			'RSS growth MiB': round(r.serverRssMiB.peak - r.serverRssMiB.before)
		}))
	);
	for (const r of results)
		console.log(
			`export: ${r.points.toLocaleString('en')} ${r.format}, first run, highest RSS by each tenth of the body (MiB): ${r.rssByTenth.join(' ')}`
		);
	const csv = results.filter((r) => r.format === 'csv');
	const smallest = csv[0]!;
	const largest = csv.at(-1)!;
	const flat = largest.serverRssMiB.peak - smallest.serverRssMiB.peak;
	console.log(
		`\nexport: peak RSS ${smallest.serverRssMiB.peak} MiB at ${smallest.points.toLocaleString('en')} points, ` +
			`${largest.serverRssMiB.peak} MiB at ${largest.points.toLocaleString('en')} ` +
			`(${flat >= 0 ? '+' : ''}${round(flat)} MiB for ${round(largest.points / smallest.points)}× the points)`
	);
	return {
		build,
		sizes: SIZES,
		pageSize: 5_000,
		rssSampleMs: SAMPLE_MS,
		repeats: REPEATS,
		results,
		peakRssDifferenceMiB: round(flat)
	};
}
