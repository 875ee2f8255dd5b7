// Follows one training job's metric stream until the job has finished and every step
// has arrived, then exits. The `eventsource` package (v4) reconnects by itself and sends
// Last-Event-ID, so a dropped connection or a server restart loses and repeats nothing.
// A connection that goes silent (a proxy or NAT that holds it open but forwards nothing)
// is noticed too: the server sends a heartbeat every Vapor-Heartbeat-Ms, and 2.5 intervals
// without a byte count as a dead connection, which is closed and resumed like any other.
//
//   node docs/examples/follow-job.mjs http://127.0.0.1:5173 JOB_ID
// VAPOR_TOKEN=vpr_… sends the token (needed unless the server has VAPOR_PUBLIC_READ=1).
import { EventSource } from 'eventsource';

const [base = 'http://127.0.0.1:5173', jobId] = process.argv.slice(2);
if (!jobId) {
	console.error('usage: node follow-job.mjs BASE_URL JOB_ID');
	process.exit(2);
}

const TERMINAL = ['completed', 'failed', 'stopped'];
const token = process.env.VAPOR_TOKEN;

/**
 * fetch for the EventSource: adds the token (a browser's EventSource cannot: it uses the
 * cookie) and fails the connection when no byte arrives for 2.5 heartbeat intervals. The
 * failure is not an AbortError, so the package reconnects with Last-Event-ID.
 */
async function watchedFetch(input, init) {
	const upstream = new AbortController();
	init.signal?.addEventListener('abort', () => upstream.abort(), { once: true }); // close()
	let timer;
	const arm = (ms) => {
		clearTimeout(timer);
		timer = setTimeout(() => upstream.abort(new Error(`no byte for ${ms} ms: a dead connection`)), ms);
	};
	arm(2.5 * 15_000); // the server's default, until its answer says
	const headers = token ? { ...init.headers, Authorization: `Bearer ${token}` } : init.headers;
	const response = await fetch(input, { ...init, headers, signal: upstream.signal });
	if (!response.body) return (clearTimeout(timer), response);
	const deadAfter = 2.5 * (Number(response.headers.get('Vapor-Heartbeat-Ms')) || 15_000);
	arm(deadAfter);
	const watched = response.body.pipeThrough(
		new TransformStream({
			transform(chunk, controller) {
				arm(deadAfter);
				controller.enqueue(chunk);
			},
			flush: () => clearTimeout(timer)
		})
	);
	return new Response(watched, { status: response.status, statusText: response.statusText, headers: response.headers });
}

const source = new EventSource(`${base}/api/training/jobs/${jobId}/stream`, { fetch: watchedFetch });
let lastStep = 0; // every step up to this one has arrived
let finished = null; // the job, once a terminal status has arrived

function exitIfDone() {
	if (finished && lastStep >= finished.currentStep) {
		source.close();
		console.log(`${finished.status} at step ${lastStep}; loss ${finished.latestLoss}`);
		process.exit(finished.status === 'completed' ? 0 : 1);
	}
}

source.addEventListener('status', (event) => {
	const job = JSON.parse(event.data);
	console.log(`status ${job.status} (${job.currentStep}/${job.totalSteps} steps)`);
	if (TERMINAL.includes(job.status)) finished = job;
	exitIfDone();
});

source.addEventListener('metrics', (event) => {
	const points = JSON.parse(event.data); // [{ step, epoch, loss, accuracy, recordedAt }, …]
	// Steps arrive once and in order; they need not be contiguous (a script may log every 10th step).
	if (points[0].step <= lastStep) {
		console.error(`step ${points[0].step} again after step ${lastStep}`); // never happens
		process.exit(1);
	}
	lastStep = points.at(-1).step; // equals event.lastEventId
	console.log(`steps ${points[0].step}–${lastStep}: loss ${points.at(-1).loss.toFixed(4)}`);
	exitIfDone();
});

source.addEventListener('error', (event) => {
	if (source.readyState === EventSource.CLOSED) {
		// No more reconnects: 204 (nothing left to send) or an HTTP error such as 404.
		console.error(event.code === 204 ? 'nothing left to send' : `stream refused: ${event.code} ${event.message}`);
		process.exit(event.code === 204 ? 0 : 1);
	}
	console.error(`connection lost; resuming after step ${lastStep}`); // the package retries after `retry:` ms
});
