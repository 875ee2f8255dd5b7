/**
 * Where a page's main thread spent a trace (BENCH_MONITOR_TRACE): the time of its top-level
 * tasks split by the kind of work inside them (script, parse, style, layout, paint …), and
 * the longest tasks on a timeline from the navigation:
 *   npx tsx bench/lib/trace-summary.ts /tmp/trace/compare.trace.json [top]
 */
import fs from 'node:fs';

interface TraceEvent {
	name: string;
	ph: string;
	ts: number;
	dur?: number;
	pid: number;
	tid: number;
	args?: { name?: string; data?: { url?: string; frame?: string } };
}

/** Trace event names that are kinds of work, as DevTools groups them. */
const KINDS: Record<string, string> = {
	EvaluateScript: 'script',
	FunctionCall: 'script',
	'v8.compile': 'compile',
	'v8.compileModule': 'compile',
	'v8.evaluateModule': 'script',
	TimerFire: 'script',
	EventDispatch: 'script',
	FireAnimationFrame: 'script',
	RunMicrotasks: 'script',
	ParseHTML: 'parse HTML',
	ParseAuthorStyleSheet: 'parse CSS',
	UpdateLayoutTree: 'style',
	Layout: 'layout',
	PrePaint: 'paint',
	Paint: 'paint',
	Layerize: 'paint',
	'Document::updateStyleAndLayout': 'layout',
	MajorGC: 'gc',
	MinorGC: 'gc',
	'V8.GC_SCAVENGER': 'gc'
};

export function summarizeTrace(events: TraceEvent[], top = 15) {
	const threadNames = new Map<string, string>();
	for (const e of events)
		if (e.ph === 'M' && e.name === 'thread_name') threadNames.set(`${e.pid}:${e.tid}`, e.args?.name ?? '');
	const main = [...threadNames].filter(([, name]) => name === 'CrRendererMain').map(([id]) => id);
	const onMain = events.filter((e) => e.ph === 'X' && main.includes(`${e.pid}:${e.tid}`) && e.dur !== undefined);
	const start = Math.min(
		...events.filter((e) => e.name === 'navigationStart' || e.name === 'TracingStartedInBrowser').map((e) => e.ts)
	);
	const tasks = onMain.filter((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask');
	// A kind's time is counted once: an event inside another of a kind is not counted again.
	const byKind = new Map<string, number>();
	const sorted = onMain.filter((e) => KINDS[e.name]).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
	let coveredUntil = 0;
	for (const e of sorted) {
		const end = e.ts + e.dur!;
		if (end <= coveredUntil) continue;
		const from = Math.max(e.ts, coveredUntil);
		byKind.set(KINDS[e.name]!, (byKind.get(KINDS[e.name]!) ?? 0) + (end - from));
		coveredUntil = end;
	}
	const ms = (us: number) => Math.round(us / 100) / 10;
	const taskTime = tasks.reduce((sum, t) => sum + t.dur!, 0);
	return {
		tasksMs: ms(taskTime),
		byKindMs: Object.fromEntries([...byKind].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, ms(v)])),
		longestTasks: tasks
			.sort((a, b) => b.dur! - a.dur!)
			.slice(0, top)
			.sort((a, b) => a.ts - b.ts)
			.map((t) => {
				const inside = onMain
					.filter((e) => KINDS[e.name] && e.ts >= t.ts && e.ts + e.dur! <= t.ts + t.dur!)
					.sort((a, b) => b.dur! - a.dur!)[0];
				return { atMs: ms(t.ts - start), ms: ms(t.dur!), mostly: inside ? `${inside.name} ${ms(inside.dur!)}` : '' };
			})
	};
}

if (process.argv[1]?.endsWith('trace-summary.ts')) {
	const file = process.argv[2];
	if (!file) throw new Error('usage: npx tsx bench/lib/trace-summary.ts <file.trace.json> [top]');
	const trace = JSON.parse(fs.readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] } | TraceEvent[];
	const events = Array.isArray(trace) ? trace : trace.traceEvents;
	console.log(JSON.stringify(summarizeTrace(events, Number(process.argv[3] ?? 15)), null, 2));
}
