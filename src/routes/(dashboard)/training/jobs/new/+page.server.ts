import { fail, redirect } from '@sveltejs/kit';
import { createValidJob } from '$lib/server/jobs/jobs.service';
import { db, events } from '$lib/server/vapor';
import { newJobInputFromForm, validateNewJob } from '$lib/training/job-input';
import type { Actions } from './$types';

export const actions: Actions = {
	default: async ({ request }) => {
		const form = await request.formData();
		const result = validateNewJob(newJobInputFromForm(form));
		if (!result.ok) {
			const values = Object.fromEntries([...form.entries()].map(([key, value]) => [key, String(value)]));
			return fail(400, { values, errors: result.fields, error: result.error });
		}
		const job = await createValidJob(db(), events(), result.value);
		redirect(303, `/training/jobs/${job.id}`);
	}
};
