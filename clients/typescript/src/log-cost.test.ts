import { describe, expect, it } from 'vitest';
import { Run } from './run';

/**
 * What log() costs the training loop with 10 keys: printed, a figure and not a timed
 * assertion (BENCHMARKS.md records it). Vapor is stood in for by a fetch that accepts every
 * batch at once, so that only the client's own work is measured.
 */
describe('log() cost', () => {
	it('prints the median and p99 of 20,000 calls with 10 keys', async () => {
		let posted = 0;
		const accept: typeof fetch = async (url, init) => {
			if (String(url).endsWith('/metrics')) posted += (JSON.parse(String(init!.body)) as unknown[]).length;
			return new Response(JSON.stringify({ job: { id: 'bench', status: 'completed' } }), { status: 200 });
		};
		const run = new Run({ url: 'http://vapor.invalid', token: 'vpr_bench', name: 'bench', id: 'bench', fetch: accept });
		const keys = Array.from({ length: 10 }, (_, i) => `train/metric_${i}`);
		const timings = new Float64Array(20_000);
		for (let i = 0; i < timings.length; i++) {
			const values: Record<string, number> = {};
			for (const key of keys) values[key] = 0.5;
			const started = performance.now();
			run.log(values);
			timings[i] = performance.now() - started;
			// Let the sender's timers run now and then, as a real loop's awaits do.
			if (i % 1_000 === 999) await new Promise((resolve) => setTimeout(resolve, 0));
		}
		timings.sort();
		const us = (ms: number) => (ms * 1000).toFixed(1);
		console.log(
			`vapor-client log() with 10 keys: median ${us(timings[timings.length >> 1]!)} µs, ` +
				`p99 ${us(timings[Math.floor(timings.length * 0.99)]!)} µs over ${timings.length.toLocaleString('en')} calls`
		);
		expect(run.step).toBe(20_000);
		expect(await run.finish()).toBe(true);
		expect(posted).toBe(20_000);
		expect(run.sentValues).toBe(200_000);
	});
});
