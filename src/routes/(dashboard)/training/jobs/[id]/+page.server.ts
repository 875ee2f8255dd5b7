import { fail, redirect } from '@sveltejs/kit';
import { mayEditJobs } from '$lib/server/auth/may-edit';
import { HttpError } from '$lib/server/errors';
import { patchJob } from '$lib/server/jobs/job-edits';
import { tagsFromText } from '$lib/training/run-fields';
import { orPageError } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { getJob } from '$lib/server/jobs/jobs.service';
import { cloneJob, startJob, stopJob } from '$lib/server/jobs/transitions';
import { readCurve } from '$lib/server/metrics/curve.service';
import { listKeys, readPosition } from '$lib/server/metrics/metrics.repository';
import { db, events } from '$lib/server/vapor';
import type { Actions } from './$types';

/**
 * 500 M4 columns: every spike kept, about a column per 1.5 px at the chart's widest (~760
 * px), and half the page of 1,000 columns, which cost a fifth of a second before the first
 * paint of a long run. The browser adds live points at full resolution.
 */
const HISTORY_POINTS = 3_000;

export async function load(event) {
	return orPageError(async () => {
		const job = await getJob(db(), parseJobId(event.params.id));
		// The position first: the stream resumes from it, so every row committed while the
		// rest is read arrives again (and is dropped by step) rather than being missed.
		const position = await readPosition(db(), job.id);
		const keys = await listKeys(db(), job.id);
		return { job, position, keys, history: await readCurve(db(), job, HISTORY_POINTS), mayEdit: mayEditJobs(event) };
	});
}

/** Runs an operation; a refusal (404, 409) comes back to the page as a message, not an error page. */
async function attempt<T>(operation: () => Promise<T>) {
	try {
		return { value: await operation() };
	} catch (error) {
		if (error instanceof HttpError) return { failure: fail(error.status, { error: error.message }) };
		throw error;
	}
}

export const actions: Actions = {
	// On success the page's stream brings the new status.
	start: async ({ params }) => (await attempt(() => startJob(db(), events(), parseJobId(params.id)))).failure,
	stop: async ({ params }) => (await attempt(() => stopJob(db(), events(), parseJobId(params.id)))).failure,
	clone: async ({ params }) => {
		const result = await attempt(() => cloneJob(db(), events(), parseJobId(params.id)));
		if (result.failure) return result.failure;
		redirect(303, `/training/jobs/${result.value!.id}`);
	},
	notes: async (event) => {
		if (!mayEditJobs(event)) return fail(403, { notesError: 'You may look at this run, not change it.' });
		const form = await event.request.formData();
		const change = { tags: tagsFromText(String(form.get('tags') ?? '')), note: String(form.get('note') ?? '') };
		const result = await attempt(() => patchJob(db(), events(), parseJobId(event.params.id), change));
		if (result.failure) return fail(result.failure.status, { notesError: result.failure.data.error });
	}
};
