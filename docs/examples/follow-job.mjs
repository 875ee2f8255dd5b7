// Follows one training job's metric stream until the job has finished and every step
// has arrived, then exits. The `eventsource` package (v4) reconnects by itself and sends
// Last-Event-ID, so a dropped connection or a server restart loses and repeats nothing.
//
//   node docs/examples/follow-job.mjs http://127.0.0.1:3000 JOB_ID
// VAPOR_TOKEN=vpr_… sends the token (needed unless the server has VAPOR_PUBLIC_READ=1).
import { EventSource } from 'eventsource';

const [base = 'http://127.0.0.1:3000', jobId] = process.argv.slice(2);
if (!jobId) {
	console.error('usage: node follow-job.mjs BASE_URL JOB_ID');
	process.exit(2);
}

const TERMINAL = ['completed', 'failed', 'stopped'];
const token = process.env.VAPOR_TOKEN;
// eventsource v4 lets us wrap its fetch to add the header (a browser's EventSource cannot: it uses the cookie).
const source = new EventSource(`${base}/api/training/jobs/${jobId}/stream`, {
	fetch: (input, init) =>
		fetch(input, token ? { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } } : init)
});
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
	if (points[0].step !== lastStep + 1) {
		console.error(`expected step ${lastStep + 1}, got ${points[0].step}`); // never happens: steps arrive once, in order
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
