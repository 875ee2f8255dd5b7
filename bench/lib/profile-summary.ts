/**
 * The functions that took the most of a CPU profile's time, by self time and by total time
 * (self plus callees), for a first look without DevTools:
 *   npx tsx bench/lib/profile-summary.ts bench/results/profiles/live.cpuprofile [top]
 */
import fs from 'node:fs';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

const where = (node: ProfileNode) => {
	const { functionName, url, lineNumber } = node.callFrame;
	const file = url.split('/').pop()?.split('?')[0] || '(native)';
	return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
};

export function summarizeProfile(profile: Profile, top = 25) {
	const byId = new Map(profile.nodes.map((node) => [node.id, node]));
	const parent = new Map<number, number>();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	const selfUs = new Map<number, number>();
	profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

	const self = new Map<string, number>();
	const total = new Map<string, number>();
	for (const [id, us] of selfUs) {
		const node = byId.get(id)!;
		self.set(where(node), (self.get(where(node)) ?? 0) + us);
		// A function counts once per sample however deep it recurses.
		const seen = new Set<string>();
		for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
			const name = where(byId.get(at)!);
			if (seen.has(name)) continue;
			seen.add(name);
			total.set(name, (total.get(name) ?? 0) + us);
		}
	}
	const allMs = [...selfUs.values()].reduce((a, b) => a + b, 0) / 1000;
	const ranked = (times: Map<string, number>) =>
		[...times]
			.sort((a, b) => b[1] - a[1])
			.slice(0, top)
			.map(([name, us]) => ({ ms: Math.round(us / 1000), name }));
	return { sampledMs: Math.round(allMs), self: ranked(self), total: ranked(total) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const [file, top] = process.argv.slice(2);
	if (!file) throw new Error('usage: tsx bench/lib/profile-summary.ts <file.cpuprofile> [top]');
	const summary = summarizeProfile(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile, Number(top) || 25);
	console.log(`${file}: ${summary.sampledMs} ms sampled`);
	for (const kind of ['self', 'total'] as const) {
		console.log(`\nby ${kind} time:`);
		for (const { ms, name } of summary[kind]) console.log(`${String(ms).padStart(7)} ms  ${name}`);
	}
}
