/**
 * The many-metrics half of suite "monitor" (issue #18), on the built server and a real Postgres:
 *   - navigation to a page of 100 keys × 100,000 steps until every chart on screen is drawn
 *     (the page's `vapor:charts-drawn` mark), and the JavaScript that page loads;
 *   - frame times of a page with 50 panels on screen while 20 keys arrive at 20 steps/s;
 *   - a zoom to 1 % of a 1,000,000-step key: mouse release to the new curve drawn
 *     (`vapor:zoom-drawn`);
 *   - the compare page of 10 runs on one key, to a drawn chart (`vapor:chart-drawn`).
 * Histories are written with INSERT … SELECT generate_series into metric_rows (the writer
 * would take hours), then summarised into metric_keys as the writer's summaries define them,
 * then rolled up by the write path's own rollUp (the key summaries, then the blocks).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, CDPSession, Page } from '@playwright/test';
import type postgres from 'postgres';
import { openDatabase } from '../src/lib/server/db';
import { rollUp } from '../src/lib/server/metrics/block-rollups';
import { CHART_DRAWN_MARK, CHARTS_DRAWN_MARK, ZOOM_DRAWN_MARK } from '../src/lib/monitor/first-draw';
import { authorization } from '../tests/support/server';
import { javascriptShipped } from './lib/page-weight';
import { envNumber, round, sleep, summarize, type Summary } from './lib/measure';

const MANY_STEPS = envNumber('BENCH_MONITOR_MANY_STEPS', 100_000, 2_000);
const DENSE_KEYS = 20;
const SPARSE_KEYS = 80;
const SPARSE_EVERY = 100;
const LIVE_HISTORY_STEPS = envNumber('BENCH_MONITOR_LIVE_HISTORY', 10_000, 500);
const LIVE_PANELS = 50;
const LIVE_KEYS = 20;
const LIVE_STEPS_PER_SECOND = 20;
const FRAME_WINDOW_MS = envNumber('BENCH_MONITOR_FRAME_WINDOW_MS', 15_000, 1_000);
const ZOOM_STEPS = envNumber('BENCH_MONITOR_ZOOM_STEPS', 1_000_000, 20_000);
const ZOOMS = envNumber('BENCH_MONITOR_ZOOMS', 10, 2);
const COMPARE_RUNS = 10;
const COMPARE_STEPS = envNumber('BENCH_MONITOR_COMPARE_STEPS', 100_000, 2_000);
const NAVIGATIONS = envNumber('BENCH_MONITOR_NAVIGATIONS', 5, 1);
const SCENARIO_NAMES = ['navigation', 'live', 'zoom', 'compare'] as const;
type Scenario = (typeof SCENARIO_NAMES)[number];
/**
 * BENCH_MONITOR_SCENARIOS=navigation,zoom runs (and seeds for) only those: the seeding of all
 * four takes minutes, too long to wait for while working on one of them.
 */
const SCENARIOS = new Set<Scenario>(
	(process.env.BENCH_MONITOR_SCENARIOS ?? SCENARIO_NAMES.join(','))
		.split(',')
		.map((name) => name.trim())
		.filter((name): name is Scenario => {
			if ((SCENARIO_NAMES as readonly string[]).includes(name)) return true;
			throw new Error(`BENCH_MONITOR_SCENARIOS: "${name}" is not one of ${SCENARIO_NAMES.join(', ')}`);
		})
);

export const MANY_TARGETS = {
	drawnMs: 1000,
	jsGzipKB: 160,
	frameMaxMs: 50,
	frameP99Ms: 20,
	zoomMs: 200,
	compareMs: 1000
};

type Sql = postgres.Sql;

interface SeededJob {
	name: string;
	status: 'completed' | 'running';
	source: 'simulated' | 'external';
	primary: string;
	steps: number;
	/** epochs × stepsPerEpoch: the run's planned length. */
	epochs: number;
	stepsPerEpoch: number;
	/** Keys written every step, then keys written every `sparseEvery` steps. */
	dense: string[];
	sparse: string[];
	sparseEvery: number;
	/** Scales the curves, so that compared runs differ. */
	scale?: number;
}

/** A deterministic curve per key number `n` and step `s`: a decay, a wobble, an offset per key. */
const valueSql = (scale: number) => `(1 + (n % 7)) * (0.3 + 2.0 / sqrt(s)) * ${scale} + 0.05 * sin(s * 0.0917 + n)`;

/** One job and its history, stored as the write path stores it (see the file's comment). */
async function seedJob(sql: Sql, databaseUrl: string, job: SeededJob): Promise<string> {
	const [row] = await sql<{ id: string }[]>`
		insert into jobs (name, base_model, dataset, epochs, steps_per_epoch, learning_rate, batch_size, seed, status,
			source, primary_metric, started_at, finished_at, last_contact_at, metric_position, metric_step)
		values (${job.name}, 'llama-3-8b', 'openwebtext', ${job.epochs}, ${job.stepsPerEpoch}, 0.0003, 64, 7, ${job.status},
			${job.source}, ${job.primary}, now() - interval '3 hours', ${job.status === 'completed' ? sql`now()` : null}, now(),
			${job.steps}, ${job.steps})
		returning id`;
	const id = row!.id;
	const names = [...job.dense, ...job.sparse];
	const dense = job.dense.map((_, i) => i);
	const all = names.map((_, i) => i);
	// Key numbers in ascending order in every row, as the writer stores them.
	await sql.unsafe(
		`insert into metric_rows (job_id, position, step, epoch, recorded_at, keys, vals)
		select $1::uuid, s, s, 1 + (s - 1) / $2::int, now() - interval '3 hours' + s * interval '10 milliseconds',
			k.keys, array(select ${valueSql(job.scale ?? 1)} from unnest(k.keys) n)
		from generate_series(1, $3::int) s
		cross join lateral (select case when s % $4::int = 0 then $5::smallint[] else $6::smallint[] end as keys) k`,
		[id, job.stepsPerEpoch, job.steps, job.sparseEvery, `{${all.join(',')}}`, `{${dense.join(',')}}`]
	);
	// Each key's summary, with the writer's definitions (count, first and last step, last value,
	// lowest and highest finite value), complete up to the last row (summary_position).
	await sql`
		insert into metric_keys (job_id, key_no, key, summary_position, count, first_step, last_step, last_value, min_value, max_value)
		select ${id}::uuid, v.key_no, (${`{${names.map((n) => `"${n}"`).join(',')}}`}::text[])[v.key_no + 1], ${job.steps},
			count(*)::integer, min(r.step), max(r.step), (array_agg(v.value order by r.step desc))[1],
			min(v.value) filter (where v.value not in ('NaN', 'Infinity', '-Infinity')),
			max(v.value) filter (where v.value not in ('NaN', 'Infinity', '-Infinity'))
		from metric_rows r cross join lateral unnest(r.keys, r.vals) as v(key_no, value)
		where r.job_id = ${id}::uuid
		group by v.key_no`;
	const handle = openDatabase({ kind: 'postgres', url: databaseUrl }, { requestTimeoutMs: 300_000 });
	try {
		await rollUp(handle.db, id);
	} finally {
		await handle.close();
	}
	return id;
}

/** The 100 keys of the issue's run: 20 every step, 80 every 100 steps, in train, system, val and eval. */
function manyKeys(): { dense: string[]; sparse: string[] } {
	const gpus = Array.from({ length: 8 }, (_, i) => i);
	const dense = [
		'train/loss',
		'train/accuracy',
		'lr',
		'grad_norm',
		...gpus.map((i) => `system/gpu.${i}.util`),
		...gpus.map((i) => `system/gpu.${i}.memory_gb`)
	];
	const tasks = Array.from({ length: SPARSE_KEYS - 2 }, (_, i) => `eval/task_${String(i).padStart(2, '0')}/accuracy`);
	const sparse = ['val/loss', 'val/accuracy', ...tasks];
	if (dense.length !== DENSE_KEYS || sparse.length !== SPARSE_KEYS) throw new Error('the key lists are off');
	return { dense, sparse };
}

const marked = (page: Page, mark: string, timeout = 30_000) =>
	page
		.waitForFunction((name) => performance.getEntriesByName(name)[0]?.startTime, mark, { timeout })
		.then(
			(handle) => handle.jsonValue() as Promise<number>,
			(error: Error) => {
				throw new Error(`${page.url()}: the mark ${mark} was not set within ${timeout} ms (${error.message})`);
			}
		);

/** Panels with a drawn chart and how many of them have points. */
const panelsDrawn = (page: Page) =>
	page.evaluate(() => {
		const frames = [...document.querySelectorAll('.panel .chart-frame')];
		return {
			charts: frames.length,
			withPoints: frames.filter((f) => Number(f.getAttribute('data-points')) > 0).length
		};
	});

/** BENCH_MONITOR_PROFILE=dir: a CPU profile of each scenario's page (open it in Chromium's DevTools). */
const PROFILE_DIR = process.env.BENCH_MONITOR_PROFILE;

/**
 * BENCH_MONITOR_TRACE=dir: a performance trace of each scenario's page, `<name>.trace.json`
 * (DevTools' Performance panel opens it; bench/lib/trace-summary.ts ranks its main-thread work).
 */
const TRACE_DIR = process.env.BENCH_MONITOR_TRACE;

/**
 * Runs `work` under the page's CPU profiler when PROFILE_DIR is set, writing `<name>.cpuprofile`,
 * and traced when TRACE_DIR is.
 */
async function profiled<T>(page: Page, name: string, work: () => Promise<T>): Promise<T> {
	if (!PROFILE_DIR && !TRACE_DIR) return work();
	const browser = page.context().browser()!;
	if (TRACE_DIR) {
		fs.mkdirSync(TRACE_DIR, { recursive: true });
		await browser.startTracing(page, {
			path: path.join(TRACE_DIR, `${name}.trace.json`),
			categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'blink', 'loading']
		});
	}
	const cdp = PROFILE_DIR ? await page.context().newCDPSession(page) : undefined;
	await cdp?.send('Profiler.enable');
	await cdp?.send('Profiler.start');
	const result = await work();
	if (cdp) {
		const { profile } = await cdp.send('Profiler.stop');
		fs.mkdirSync(PROFILE_DIR!, { recursive: true });
		fs.writeFileSync(path.join(PROFILE_DIR!, `${name}.cpuprofile`), JSON.stringify(profile));
	}
	if (TRACE_DIR) await browser.stopTracing();
	return result;
}

/** Navigation start to `mark`, each in a fresh browser context (empty cache). */
async function timeToMark(
	browser: Browser,
	name: string,
	url: string,
	mark: string,
	onFirst?: (page: Page) => Promise<void>
): Promise<Summary> {
	const times: number[] = [];
	for (let run = 0; run < NAVIGATIONS; run++) {
		const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
		const page = await context.newPage();
		const navigate = async () => {
			await page.goto(url);
			return marked(page, mark);
		};
		times.push(await (run === 0 ? profiled(page, name, navigate) : navigate()));
		if (run === 0) await onFirst?.(page);
		await context.close();
	}
	return summarize(times);
}

/** The document's timings and the [start, end] ms of each request whose URL contains `requests`. */
const pageTimeline = (page: Page, requests: string) =>
	page.evaluate((part) => {
		const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
		const matching = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
			.filter((r) => r.name.includes(part))
			.map((r) => [Math.round(r.startTime), Math.round(r.responseEnd), Math.round(r.decodedBodySize / 1024)]);
		return {
			responseStart: Math.round(n.responseStart),
			responseEnd: Math.round(n.responseEnd),
			domInteractive: Math.round(n.domInteractive),
			documentKB: Math.round(n.decodedBodySize / 1024),
			requests: { url: part, startEndKB: matching }
		};
	}, requests);

/** A training script posting one row of `keys` every 1/rate s, on schedule (not back to back). */
function liveWriter(base: string, jobId: string, keys: string[], fromStep: number, rate: number) {
	let stop = false;
	let step = fromStep;
	const lateMs: number[] = [];
	const done = (async () => {
		const started = performance.now();
		for (let tick = 0; !stop; tick++) {
			const due = started + (tick * 1000) / rate;
			const wait = due - performance.now();
			if (wait > 0) await sleep(wait);
			else lateMs.push(-wait);
			step++;
			const metrics = Object.fromEntries(
				keys.map((key, n) => [key, (1 + (n % 7)) * (0.3 + 2.0 / Math.sqrt(step)) + 0.05 * Math.sin(step * 0.0917 + n)])
			);
			const response = await fetch(`${base}/api/training/jobs/${jobId}/metrics`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...authorization() },
				body: JSON.stringify([{ step, metrics }])
			});
			await response.text();
			if (!response.ok) throw new Error(`POST metrics → ${response.status}`);
		}
	})();
	return {
		get step() {
			return step;
		},
		async stop() {
			stop = true;
			await done;
			return { late: lateMs.length };
		}
	};
}

/** rAF gaps over `ms`. A string, not a function: tsx would wrap inner functions in a helper the page lacks. */
const frameGaps = (page: Page, ms: number) =>
	page.evaluate(`new Promise((resolve) => {
		const gaps = [];
		let last = performance.now();
		const end = last + ${ms};
		const frame = (now) => {
			gaps.push(now - last);
			last = now;
			if (now < end) requestAnimationFrame(frame);
			else resolve(gaps);
		};
		requestAnimationFrame(frame);
	})`) as Promise<number[]>;

/** The renderer main thread's busy time so far, ms, by kind (Chromium's Performance domain). */
async function mainThreadBusy(cdp: CDPSession): Promise<Record<string, number>> {
	const { metrics } = await cdp.send('Performance.getMetrics');
	const seconds = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
	return {
		task: seconds('TaskDuration') * 1000,
		script: seconds('ScriptDuration') * 1000,
		layout: seconds('LayoutDuration') * 1000,
		style: seconds('RecalcStyleDuration') * 1000
	};
}

async function liveFrames(browser: Browser, base: string, jobId: string, liveKeys: string[], fromStep: number) {
	const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
	try {
		await page.goto(`${base}/training/jobs/${jobId}`);
		await marked(page, CHART_DRAWN_MARK);
		// A window tall enough for every panel: all 50 on screen at once.
		const height = await page.evaluate(() => {
			const panels = [...document.querySelectorAll('.panel')];
			return Math.ceil(Math.max(...panels.map((p) => p.getBoundingClientRect().bottom + window.scrollY)) + 24);
		});
		await page.setViewportSize({ width: 1280, height });
		await page.waitForFunction(
			(count) => {
				const frames = [...document.querySelectorAll('.panel .chart-frame')];
				return frames.length >= count && frames.every((f) => Number(f.getAttribute('data-points')) > 0);
			},
			LIVE_PANELS,
			{ timeout: 60_000 }
		);
		const onScreen = await page.evaluate(
			() =>
				[...document.querySelectorAll('.panel')].filter((p) => {
					const box = p.getBoundingClientRect();
					return box.top >= 0 && box.bottom <= window.innerHeight;
				}).length
		);
		const writer = liveWriter(base, jobId, liveKeys, fromStep, LIVE_STEPS_PER_SECOND);
		try {
			// The stream's first rows and the headline's first redraws before the window opens.
			await page.waitForFunction((step) => {
				const text = document.querySelector('[data-testid="stat-step"]')?.textContent ?? '';
				return Number(text.split('/')[0]!.replace(/[^\d]/g, '')) > step;
			}, fromStep + 5);
			await sleep(1_000);
			const before = writer.step;
			const cdp = await page.context().newCDPSession(page);
			await cdp.send('Performance.enable');
			const busyBefore = await mainThreadBusy(cdp);
			const gaps = await profiled(page, 'live', () => frameGaps(page, FRAME_WINDOW_MS));
			const busyAfter = await mainThreadBusy(cdp);
			const written = writer.step - before;
			const shown = await page.evaluate(() => {
				const text = document.querySelector('[data-testid="stat-step"]')?.textContent ?? '';
				return Number(text.split('/')[0]!.replace(/[^\d]/g, ''));
			});
			const { late } = await writer.stop();
			return {
				viewport: { width: 1280, height },
				panelsOnScreen: onScreen,
				frames: summarize(gaps),
				// Where the window's main-thread time went, ms per frame: what is left of a frame's
				// gap is the raster and compositing (software here, a GPU's job in a browser).
				mainThreadMsPerFrame: Object.fromEntries(
					Object.entries(busyAfter).map(([name, ms]) => [
						name,
						round((ms - busyBefore[name]!) / Math.max(1, gaps.length), 1)
					])
				),
				over50: gaps.filter((gap) => gap > MANY_TARGETS.frameMaxMs).length,
				stepsWritten: written,
				stepsBehind: writer.step - shown,
				writerLateTicks: late
			};
		} finally {
			await writer.stop().catch(() => {});
		}
	} finally {
		await page.close();
	}
}

/** Drags across 1 % of the headline chart at a few places: mouse release to the new curve drawn. */
async function zoomTimes(browser: Browser, base: string, jobId: string) {
	const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
	try {
		await page.goto(`${base}/training/jobs/${jobId}`);
		await marked(page, CHART_DRAWN_MARK);
		const frame = page.locator('.loss-chart');
		const surface = frame.locator('.surface');
		const box = (await surface.boundingBox())!;
		const y = box.y + box.height / 2;
		const times: number[] = [];
		const failures: string[] = [];
		const ranges: string[] = [];
		await profiled(page, 'zoom', async () => {
			for (let i = 0; i < ZOOMS; i++) {
				await page.evaluate((mark) => {
					performance.clearMarks(mark);
					performance.clearMarks('bench:release');
					addEventListener('pointerup', () => performance.mark('bench:release'), { capture: true, once: true });
				}, ZOOM_DRAWN_MARK);
				const x0 = box.x + box.width * (0.1 + (0.8 * i) / Math.max(1, ZOOMS - 1)) - box.width * 0.005;
				await page.mouse.move(x0, y);
				await page.mouse.down();
				await page.mouse.move(x0 + box.width * 0.01, y, { steps: 4 });
				await page.mouse.up();
				// The mark, or the page's word that the range read failed (then no mark comes).
				const outcome = await page
					.waitForFunction(
						(mark) => {
							const failed = document.querySelector('.zoom-error')?.textContent;
							if (failed) return { failed };
							const drawn = performance.getEntriesByName(mark)[0];
							const released = performance.getEntriesByName('bench:release')[0];
							return drawn && released ? { ms: drawn.startTime - released.startTime } : undefined;
						},
						ZOOM_DRAWN_MARK,
						{ timeout: 30_000 }
					)
					.then(
						(handle) => handle.jsonValue() as Promise<{ ms?: number; failed?: string }>,
						async (error: Error) => {
							const zoomed = await frame.getAttribute('data-zoomed');
							throw new Error(`zoom ${i + 1}: not drawn within 30 s (data-zoomed=${zoomed}): ${error.message}`);
						}
					);
				// A failed read is a figure too (the page said so): counted, and the next zoom tried.
				if (outcome.failed !== undefined) failures.push(`zoom ${i + 1}: ${outcome.failed}`);
				else times.push(outcome.ms!);
				ranges.push((await frame.getAttribute('data-zoomed')) ?? '');
				// Back to the whole run, and its own mark out of the way before the next drag.
				await page.evaluate((mark) => performance.clearMarks(mark), ZOOM_DRAWN_MARK);
				await surface.dblclick({ position: { x: 5, y: 5 } });
				await page.waitForFunction(() => !document.querySelector('.loss-chart')?.hasAttribute('data-zoomed'));
				await marked(page, ZOOM_DRAWN_MARK);
			}
		});
		return { ms: summarize(times), failures, ranges };
	} finally {
		await page.close();
	}
}

/** Every job the scenarios read, seeded. */
async function seedAll(sql: Sql, databaseUrl: string) {
	const { dense, sparse } = manyKeys();
	const manyJob = !SCENARIOS.has('navigation')
		? undefined
		: await seedJob(sql, databaseUrl, {
				name: 'A hundred metrics',
				status: 'completed',
				source: 'external',
				primary: 'train/loss',
				steps: MANY_STEPS,
				epochs: 10,
				stepsPerEpoch: MANY_STEPS / 10,
				dense,
				sparse,
				sparseEvery: SPARSE_EVERY
			});
	// 20 keys live (the headline's two and 18 panels) and 32 others: 50 panels.
	const liveJob = !SCENARIOS.has('live')
		? undefined
		: await seedJob(sql, databaseUrl, {
				name: 'Fifty panels, live',
				status: 'running',
				source: 'external',
				primary: 'train/loss',
				steps: LIVE_HISTORY_STEPS,
				epochs: 10,
				stepsPerEpoch: LIVE_HISTORY_STEPS,
				dense: dense.slice(0, LIVE_KEYS),
				sparse: sparse.slice(2, 2 + LIVE_PANELS - (LIVE_KEYS - 2)),
				sparseEvery: SPARSE_EVERY
			});
	const zoomJob = !SCENARIOS.has('zoom')
		? undefined
		: await seedJob(sql, databaseUrl, {
				name: 'A million steps to zoom into',
				status: 'completed',
				source: 'external',
				primary: 'loss',
				steps: ZOOM_STEPS,
				epochs: 100,
				stepsPerEpoch: ZOOM_STEPS / 100,
				dense: ['loss', 'accuracy'],
				sparse: [],
				sparseEvery: ZOOM_STEPS + 1
			});
	const compared: string[] = [];
	for (let run = 0; SCENARIOS.has('compare') && run < COMPARE_RUNS; run++) {
		compared.push(
			await seedJob(sql, databaseUrl, {
				name: `Compared run ${run + 1}`,
				status: 'completed',
				source: 'external',
				primary: 'train/loss',
				steps: COMPARE_STEPS,
				epochs: 10,
				stepsPerEpoch: COMPARE_STEPS / 10,
				dense: ['train/loss', 'train/accuracy'],
				sparse: ['val/loss'],
				sparseEvery: SPARSE_EVERY,
				scale: 1 + run * 0.05
			})
		);
	}
	await sql`vacuum analyze metric_rows`;
	await sql`vacuum analyze metric_keys`;
	await sql`vacuum analyze metric_key_blocks`;
	return { manyJob, liveJob, zoomJob, compared };
}

export async function measureManyMetrics(sql: Sql, databaseUrl: string, base: string, browser: Browser) {
	const seeded = performance.now();
	const { manyJob, liveJob, zoomJob, compared } = await seedAll(sql, databaseUrl);
	const { dense } = manyKeys();
	const seedSeconds = round((performance.now() - seeded) / 1000);
	console.log(`monitor #18: seeded in ${seedSeconds} s (${[...SCENARIOS].join(', ')})`);

	let manyKeysFigures;
	if (manyJob) {
		console.log(`monitor #18: a page of 100 keys …`);
		const manyUrl = `${base}/training/jobs/${manyJob}`;
		const javascript = await javascriptShipped(browser, manyUrl, CHARTS_DRAWN_MARK);
		let firstPage: Record<string, unknown> | undefined;
		const drawn = await timeToMark(browser, 'navigation', manyUrl, CHARTS_DRAWN_MARK, async (page) => {
			firstPage = {
				...(await panelsDrawn(page)),
				headlineDrawnMs: round(await marked(page, CHART_DRAWN_MARK)),
				// Where the time went: the document, then each panel's history request.
				timeline: await pageTimeline(page, '/metrics?key=')
			};
		});
		const kb = (bytes: number) => round(bytes / 1024, 1);
		manyKeysFigures = {
			javascript: { ...javascript, gzipKB: kb(javascript.gzipBytes), rawKB: kb(javascript.rawBytes) },
			drawnMs: drawn,
			firstPage
		};
	}

	let live;
	if (liveJob) {
		console.log(`monitor #18: 50 panels on screen, ${LIVE_KEYS} keys at ${LIVE_STEPS_PER_SECOND} steps/s …`);
		live = await liveFrames(browser, base, liveJob, dense.slice(0, LIVE_KEYS), LIVE_HISTORY_STEPS);
	}

	let zoom;
	if (zoomJob) {
		console.log(`monitor #18: zoom to 1 % of ${ZOOM_STEPS.toLocaleString('en')} steps …`);
		zoom = await zoomTimes(browser, base, zoomJob);
	}

	let compare;
	if (compared.length > 0) {
		console.log(`monitor #18: compare ${COMPARE_RUNS} runs …`);
		const compareUrl = `${base}/training/compare?ids=${compared.join(',')}`;
		let rowsInTable = 0;
		const timelines: Record<string, unknown> = {};
		const firstPage = (name: string) => async (page: Page) => {
			rowsInTable = await page.locator('[data-testid="compare-data"] tbody tr').count();
			timelines[name] = await pageTimeline(page, '/metrics');
		};
		const primaryMs = await timeToMark(browser, 'compare', compareUrl, CHART_DRAWN_MARK, firstPage('primary'));
		const valLossMs = await timeToMark(
			browser,
			'compare-val-loss',
			`${compareUrl}&metric=val/loss`,
			CHART_DRAWN_MARK,
			firstPage('val/loss')
		);
		compare = { primaryMs, valLossMs, rowsInTable, timelines };
	}

	return {
		sizes: {
			manyKeys: { keys: DENSE_KEYS + SPARSE_KEYS, steps: MANY_STEPS, every: { dense: 1, sparse: SPARSE_EVERY } },
			live: { panels: LIVE_PANELS, liveKeys: LIVE_KEYS, stepsPerSecond: LIVE_STEPS_PER_SECOND },
			zoomSteps: ZOOM_STEPS,
			compare: { runs: COMPARE_RUNS, steps: COMPARE_STEPS },
			seedSeconds
		},
		scenarios: [...SCENARIOS],
		manyKeys: manyKeysFigures,
		live,
		zoom,
		compare,
		targets: MANY_TARGETS
	};
}
