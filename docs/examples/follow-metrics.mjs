// Follows every named metric of one job (stream version 2) and prints one line per value.
// The `eventsource` package reconnects by itself with Last-Event-ID (a position), so a
// value committed late for an old step (val/loss at 500 after train/loss at 501) still
// arrives exactly once. Exits when the job has finished and everything has arrived.
//
//   node docs/examples/follow-metrics.mjs http://127.0.0.1:3000 JOB_ID [KEY,KEY…]
import { EventSource } from 'eventsource';

const [base = 'http://127.0.0.1:3000', jobId, keys] = process.argv.slice(2);
if (!jobId) {
	console.error('usage: node follow-metrics.mjs BASE_URL JOB_ID [KEYS]');
	process.exit(2);
}
const token = process.env.VAPOR_TOKEN;
const url = `${base}/api/training/jobs/${jobId}/stream?v=2${keys ? `&keys=${encodeURIComponent(keys)}` : ''}`;
const source = new EventSource(url, {
	fetch: (input, init) =>
		fetch(input, token ? { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } } : init)
});

source.addEventListener('values', (event) => {
	for (const row of JSON.parse(event.data)) {
		for (const [key, value] of Object.entries(row.values)) {
			// A non-finite value arrives as the string "NaN", "Infinity" or "-Infinity".
			console.log(`#${row.position} step ${row.step} ${key} = ${value}`);
		}
	}
});
source.addEventListener('status', (event) => console.log(`status ${JSON.parse(event.data).status}`));
source.onerror = (event) => {
	// 204: the job has finished and this client has everything; the source is closed.
	if (source.readyState === EventSource.CLOSED) process.exit(event.code === 204 ? 0 : 1);
};
