/**
 * Suite "monitor": what a person opening a 1,000,000-point job waits for, on the built
 * server and a real Postgres.
 *   - history: GET …/metrics?maxPoints=1000 (block extremes, see metric-key-blocks.repository)
 *     against reading every point page by page, and against the same request with no
 *     stored blocks (every row read), in the same run;
 *   - the JavaScript the monitor page loads (gzip, as adapter-node serves it);
 *   - navigation to a painted chart in Chromium (the page's `vapor:chart-drawn` mark);
 *   - frame times while a 1,000,000-point job streams a point every 50 ms;
 * then the many-metrics scenarios of issue #18 (monitor-metrics.ts).
 * BENCH_MONITOR_PARTS=5 or =18 runs one half (while working on it); BENCH_MONITOR_SCENARIOS=navigation,zoom
 * (of navigation, live, zoom, compare) runs and seeds only those scenarios of the #18 half.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser } from '@playwright/test';
import postgres from 'postgres';
import { openDatabase } from '../src/lib/server/db';
import { rollUp } from '../src/lib/server/metrics/block-rollups';
import { CHART_DRAWN_MARK } from '../src/lib/monitor/first-draw';
import { startPostgresCluster } from '../tests/support/postgres-cluster';
import { authorization, startServer, BENCH_READS } from '../tests/support/server';
import { ensureBuild } from './lib/build';
import { seedPoints } from '../tests/support/points';
import { envNumber, onAbort, printTable, round, summarize, type Summary } from './lib/measure';
import { javascriptShipped } from './lib/page-weight';
import { MANY_TARGETS, measureManyMetrics } from './monitor-metrics';

const PARTS = (process.env.BENCH_MONITOR_PARTS ?? '5,18').split(',');

const POINTS = envNumber('BENCH_MONITOR_POINTS', 1_000_000, 2_000);
const SPIKE_STEP = Math.round(POINTS * 0.612345);
const HISTORY_RUNS = envNumber('BENCH_MONITOR_RUNS', 20, 2);
const NAVIGATIONS = envNumber('BENCH_MONITOR_NAVIGATIONS', 5, 1);
const FRAME_WINDOW_MS = envNumber('BENCH_MONITOR_FRAME_WINDOW_MS', 15_000, 1_000);
const STEP_MS = 50;
const PAGE_SIZE = 10_000;
const TARGETS = { historyMs: 150, historyKB: 100, jsGzipKB: 150, drawnMs: 1000, frameMs: 50 };

interface Fetched {
	ms: number;
	/** Bytes on the wire, as sent (compressed when asked for). */
	bytes: number;
	body: string;
}

/** A GET that counts the bytes as sent, which fetch() hides by decompressing. */
function get(url: string, gzip: boolean): Promise<Fetched> {
	const started = performance.now();
	return new Promise((resolve, reject) => {
		const request = http.get(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => {
				if (response.statusCode !== 200) return reject(new Error(`GET ${url} → ${response.statusCode}`));
				const raw = Buffer.concat(chunks);
				const body = response.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
				resolve({ ms: performance.now() - started, bytes: raw.length, body });
			});
			response.on('error', reject);
		});
		request.on('error', reject);
	});
}

async function timeRequests(
	url: string,
	gzip: boolean,
	runs: number
): Promise<{ ms: Summary; bytes: number; points: number }> {
	await get(url, gzip); // warm-up: plans cached, pages in shared buffers
	const times: number[] = [];
	let last: Fetched | undefined;
	for (let run = 0; run < runs; run++) {
		last = await get(url, gzip);
		times.push(last.ms);
	}
	return {
		ms: summarize(times),
		bytes: last!.bytes,
		points: (JSON.parse(last!.body) as { metrics: unknown[] }).metrics.length
	};
}

/** Every point, page by page, as an external consumer would read the whole history. */
async function readEverything(
	base: string,
	jobId: string
): Promise<{ ms: number; bytes: number; points: number; requests: number }> {
	const started = performance.now();
	let after = 0;
	let bytes = 0;
	let points = 0;
	let requests = 0;
	for (;;) {
		const page = await get(`${base}/api/training/jobs/${jobId}/metrics?after=${after}&limit=${PAGE_SIZE}`, false);
		requests++;
		bytes += page.bytes;
		const metrics = (JSON.parse(page.body) as { metrics: { step: number }[] }).metrics;
		if (metrics.length === 0) break;
		points += metrics.length;
		after = metrics.at(-1)!.step;
	}
	return { ms: performance.now() - started, bytes, points, requests };
}

/** The first navigation's milestones (ms from its start), filled in by timeToDrawnChart. */
let firstNavigation: Record<string, number> = {};

/** Navigation start to the first painted curve, each in a fresh context (empty cache). */
async function timeToDrawnChart(browser: Browser, pageUrl: string): Promise<Summary> {
	const times: number[] = [];
	for (let run = 0; run < NAVIGATIONS; run++) {
		const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
		const page = await context.newPage();
		await page.goto(pageUrl);
		const drawnAt = await page.waitForFunction(
			(mark) => performance.getEntriesByName(mark)[0]?.startTime,
			CHART_DRAWN_MARK,
			{ timeout: 30_000 }
		);
		times.push((await drawnAt.jsonValue()) as number);
		// Where the time went, for the first navigation: server, transfer, parse and hydrate.
		if (run === 0) {
			const timing: Record<string, number> = await page.evaluate(() => {
				const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
				return {
					responseStart: n.responseStart,
					responseEnd: n.responseEnd,
					domInteractive: n.domInteractive,
					domContentLoaded: n.domContentLoadedEventEnd,
					load: n.loadEventEnd,
					transferKB: n.transferSize / 1024,
					bodyKB: n.decodedBodySize / 1024
				};
			});
			firstNavigation = Object.fromEntries(Object.entries(timing).map(([key, value]) => [key, round(value)]));
		}
		await context.close();
	}
	return summarize(times);
}

/** Gaps between animation frames while live points arrive, and how many points arrived. */
async function frameTimes(
	browser: Browser,
	pageUrl: string
): Promise<{ frames: Summary; over50: number; stepsAdvanced: number }> {
	const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
	await page.goto(pageUrl);
	await page.waitForFunction((mark) => performance.getEntriesByName(mark).length > 0, CHART_DRAWN_MARK, {
		timeout: 30_000
	});
	const stepText = () => page.getByTestId('stat-step').innerText();
	const stepOf = (text: string) => Number(text.split('/')[0]!.replace(/[^\d]/g, ''));
	const before = stepOf(await stepText());
	// A string, not a function: tsx would wrap a function's inner functions in a helper
	// that does not exist in the page.
	const gaps = (await page.evaluate(`new Promise((resolve) => {
		const gaps = [];
		let last = performance.now();
		const end = last + ${FRAME_WINDOW_MS};
		const frame = (now) => {
			gaps.push(now - last);
			last = now;
			if (now < end) requestAnimationFrame(frame);
			else resolve(gaps);
		};
		requestAnimationFrame(frame);
	})`)) as number[];
	const after = stepOf(await stepText());
	await page.close();
	return {
		frames: summarize(gaps),
		over50: gaps.filter((gap) => gap > TARGETS.frameMs).length,
		stepsAdvanced: after - before
	};
}

/** The issue #5 case: one chart of a 1,000,000-point job. */
async function measureOneMillionPoints(
	sql: postgres.Sql,
	cluster: { url: string },
	server: { url: string },
	browser: Browser
) {
	// Two jobs of POINTS points, committed through the write path in large batches (the
	// simulator would take days): one completed, one running with as many steps still to go.
	const insertStarted = performance.now();
	const [done, live] = await sql<{ id: string }[]>`
		insert into jobs (name, base_model, dataset, epochs, steps_per_epoch, learning_rate, batch_size, seed, status, started_at, finished_at)
		values
			('A million steps', 'llama-3-8b', 'openwebtext', 1000, ${POINTS / 1000}, 0.0003, 64, 7, 'completed', now() - interval '3 hours', now()),
			('A million steps, live', 'llama-3-8b', 'openwebtext', 1000, ${(2 * POINTS) / 1000}, 0.0003, 64, 8, 'queued', null, null)
		returning id`;
	const stepsPerEpoch = new Map([
		[done!.id, POINTS / 1000],
		[live!.id, (2 * POINTS) / 1000]
	]);
	const startedAt = Date.now() - 3 * 3600_000;
	for (const job of [done!, live!]) {
		const perEpoch = stepsPerEpoch.get(job.id)!;
		await seedPoints(cluster.url, job.id, POINTS, (step) => ({
			epoch: Math.floor((step - 1) / perEpoch) + 1,
			// A deterministic wobble instead of random(): the same curve in every run.
			loss: step === SPIKE_STEP ? 25 : 2.5 / Math.sqrt(step) + 0.05 * ((Math.sin(step * 12.9898) + 1) / 2),
			accuracy: Math.min(0.99, 0.5 + 0.5 * (1 - 1 / Math.sqrt(step))),
			recordedAt: new Date(startedAt + step * 10)
		}));
	}
	const insertSeconds = (performance.now() - insertStarted) / 1000;
	await sql`vacuum analyze metric_rows`;
	await sql`vacuum analyze metric_keys`;

	// What the write path does a block at a time, done here all at once.
	const handle = openDatabase({ kind: 'postgres', url: cluster.url }, { requestTimeoutMs: 300_000 });
	const rollupStarted = performance.now();
	for (const job of [done!, live!]) await rollUp(handle.db, job.id);
	const rollupSeconds = (performance.now() - rollupStarted) / 1000;
	await handle.close();

	const metricsUrl = `${server.url}/api/training/jobs/${done!.id}/metrics`;
	console.log(
		`monitor: ${POINTS} points per job (insert ${round(insertSeconds)} s, block roll-up ${round(rollupSeconds)} s); history …`
	);
	const downsampled = await timeRequests(`${metricsUrl}?maxPoints=1000`, false, HISTORY_RUNS);
	const downsampledGzip = await timeRequests(`${metricsUrl}?maxPoints=1000`, true, HISTORY_RUNS);
	const spikeDrawn = (
		JSON.parse((await get(`${metricsUrl}?maxPoints=1000`, false)).body) as {
			metrics: { step: number; loss: number }[];
		}
	).metrics.some((p) => p.step === SPIKE_STEP && p.loss === 25);
	const everything = await readEverything(server.url, done!.id);
	await sql`delete from metric_key_blocks where job_id = ${done!.id}`;
	const withoutBlocks = await timeRequests(`${metricsUrl}?maxPoints=1000`, false, 3);

	console.log('monitor: page weight and time to a drawn chart …');
	// The live job: the completed one has no stored blocks any more.
	const pageUrl = `${server.url}/training/jobs/${live!.id}`;
	const javascript = await javascriptShipped(browser, pageUrl, CHART_DRAWN_MARK);
	const drawn = await timeToDrawnChart(browser, pageUrl);

	console.log(`monitor: frame times for ${FRAME_WINDOW_MS / 1000} s while a point arrives every ${STEP_MS} ms …`);
	await fetch(`${server.url}/api/training/jobs/${live!.id}/start`, { method: 'POST', headers: authorization() }).then(
		(r) => {
			if (!r.ok) throw new Error(`start → ${r.status}`);
		}
	);
	const frames = await frameTimes(browser, pageUrl);
	// Its simulator ticks would load the machine for the scenarios that follow.
	await fetch(`${server.url}/api/training/jobs/${live!.id}/stop`, { method: 'POST', headers: authorization() });

	const kb = (bytes: number) => round(bytes / 1024, 1);
	const figures = {
		points: POINTS,
		insertSeconds: round(insertSeconds),
		rollupSeconds: round(rollupSeconds),
		history: {
			maxPoints1000: { ms: downsampled.ms, kB: kb(downsampled.bytes), points: downsampled.points },
			maxPoints1000Gzip: { ms: downsampledGzip.ms, kB: kb(downsampledGzip.bytes) },
			maxPoints1000WithoutBlocks: { ms: withoutBlocks.ms, kB: kb(withoutBlocks.bytes) },
			everyPoint: {
				ms: round(everything.ms),
				kB: kb(everything.bytes),
				points: everything.points,
				requests: everything.requests
			},
			spikeDrawn
		},
		javascript: { files: javascript.files, gzipKB: kb(javascript.gzipBytes), rawKB: kb(javascript.rawBytes) },
		navigationToDrawnChartMs: drawn,
		firstNavigation,
		liveFrames: {
			windowSeconds: FRAME_WINDOW_MS / 1000,
			frameMs: frames.frames,
			framesOver50Ms: frames.over50,
			stepsAdvanced: frames.stepsAdvanced
		},
		targets: TARGETS
	};

	printTable([
		{
			measure: 'maxPoints=1000 (blocks)',
			p50: round(downsampled.ms.p50),
			p99: round(downsampled.ms.p99),
			kB: kb(downsampled.bytes),
			target: '< 150 ms, < 100 kB'
		},
		{
			measure: 'maxPoints=1000 (blocks, gzip)',
			p50: round(downsampledGzip.ms.p50),
			p99: round(downsampledGzip.ms.p99),
			kB: kb(downsampledGzip.bytes),
			target: ''
		},
		{
			measure: 'maxPoints=1000 (no blocks)',
			p50: round(withoutBlocks.ms.p50),
			p99: round(withoutBlocks.ms.p99),
			kB: kb(withoutBlocks.bytes),
			target: ''
		},
		{
			measure: `every point (${everything.requests} pages)`,
			p50: round(everything.ms),
			p99: '',
			kB: kb(everything.bytes),
			target: ''
		},
		{ measure: 'monitor JS (gzip)', p50: '', p99: '', kB: kb(javascript.gzipBytes), target: '< 150 kB' },
		{
			measure: 'navigation → drawn chart',
			p50: round(drawn.p50),
			p99: round(drawn.max),
			kB: '',
			target: '< 1000 ms'
		},
		{
			measure: `live frames (${frames.frames.count})`,
			p50: round(frames.frames.p50),
			p99: round(frames.frames.p99),
			kB: '',
			target: `max ${round(frames.frames.max)} ms, ${frames.over50} over 50 ms`
		}
	]);
	console.log(`first navigation (ms from start): ${JSON.stringify(firstNavigation)}`);
	console.log(
		`spike at step ${SPIKE_STEP} drawn: ${spikeDrawn}; live job advanced ${frames.stepsAdvanced} steps in the frame window`
	);
	return figures;
}

function printManyMetrics(many: Awaited<ReturnType<typeof measureManyMetrics>>) {
	const t = MANY_TARGETS;
	const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
	const { manyKeys, live, zoom, compare } = many;
	printTable([
		...(manyKeys
			? [
					{
						measure: `${many.sizes.manyKeys.keys} keys × ${many.sizes.manyKeys.steps} steps: navigation → charts on screen drawn`,
						p50: round(manyKeys.drawnMs.p50),
						p99: round(manyKeys.drawnMs.max),
						target: `< ${t.drawnMs} ms p50: ${met(manyKeys.drawnMs.p50 < t.drawnMs)}`
					},
					{
						measure: `  its JavaScript (${manyKeys.javascript.files} files, gzip kB)`,
						p50: manyKeys.javascript.gzipKB,
						p99: '',
						target: `< ${t.jsGzipKB} kB: ${met(manyKeys.javascript.gzipKB < t.jsGzipKB)}`
					}
				]
			: []),
		...(live
			? [
					{
						measure: `${live.panelsOnScreen} panels on screen, ${many.sizes.live.liveKeys} keys at ${many.sizes.live.stepsPerSecond} steps/s: frames (${live.frames.count})`,
						p50: round(live.frames.p50),
						p99: round(live.frames.p99),
						target: `max ${round(live.frames.max)} ms (${live.over50} over ${t.frameMaxMs}); p99 < ${t.frameP99Ms}: ${met(live.over50 === 0 && live.frames.p99 < t.frameP99Ms)}`
					}
				]
			: []),
		...(zoom
			? [
					{
						measure: `zoom to 1 % of ${many.sizes.zoomSteps} steps: release → drawn (${zoom.ms.count})`,
						p50: round(zoom.ms.p50),
						p99: round(zoom.ms.max),
						target: `< ${t.zoomMs} ms: ${met(zoom.ms.max < t.zoomMs && zoom.failures.length === 0)}`
					}
				]
			: []),
		...(compare
			? [
					{
						measure: `compare ${many.sizes.compare.runs} runs × ${many.sizes.compare.steps} steps (primary): drawn`,
						p50: round(compare.primaryMs.p50),
						p99: round(compare.primaryMs.max),
						target: `< ${t.compareMs} ms: ${met(compare.primaryMs.p50 < t.compareMs)}`
					},
					{
						measure: `compare ${many.sizes.compare.runs} runs by val/loss: drawn`,
						p50: round(compare.valLossMs.p50),
						p99: round(compare.valLossMs.max),
						target: `< ${t.compareMs} ms: ${met(compare.valLossMs.p50 < t.compareMs)}`
					}
				]
			: [])
	]);
	if (manyKeys) console.log(`first page of 100 keys: ${JSON.stringify(manyKeys.firstPage)}`);
	if (live)
		console.log(
			`live: ${live.stepsWritten} steps written in the window, ${live.stepsBehind} behind at its end, ` +
				`viewport ${live.viewport.width}×${live.viewport.height}; main thread per frame (ms): ` +
				JSON.stringify(live.mainThreadMsPerFrame)
		);
	if (zoom) console.log(`zoom ranges ${zoom.ranges.join(' ')}; failed reads: ${zoom.failures.join('; ') || 'none'}`);
	if (compare)
		console.log(`compare table rows ${compare.rowsInTable}; first pages: ${JSON.stringify(compare.timelines)}`);
}

export async function runMonitorSuite() {
	const build = ensureBuild();
	const cluster = await startPostgresCluster();
	const forgetCluster = onAbort(() => cluster.stop());
	const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
	const server = await startServer({
		DATABASE_URL: cluster.url,
		VAPOR_SIM_STEP_MS: String(STEP_MS),
		VAPOR_DEMO: '0',
		...BENCH_READS
	});
	const forgetServer = onAbort(() => server.kill());
	const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--disable-gpu'] });
	try {
		const figures: Record<string, unknown> = { buildRebuilt: build.rebuilt };
		if (PARTS.includes('5')) Object.assign(figures, await measureOneMillionPoints(sql, cluster, server, browser));
		if (PARTS.includes('18')) {
			const many = await measureManyMetrics(sql, cluster.url, server.url, browser);
			printManyMetrics(many);
			figures.manyMetrics = many;
		}
		return figures;
	} finally {
		await browser.close();
		await server.stop();
		forgetServer();
		await sql.end({ timeout: 5 });
		cluster.stop();
		forgetCluster();
	}
}
