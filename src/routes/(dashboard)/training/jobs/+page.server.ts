import { fail } from '@sveltejs/kit';
import { mayEditJobs } from '$lib/server/auth/may-edit';
import { HttpError } from '$lib/server/errors';
import { applyToRuns, loadRunTable, type BulkAction } from '$lib/server/jobs/run-table.service';
import { db, deleter, events } from '$lib/server/vapor';
import type { Actions, RequestEvent } from './$types';

export async function load(event) {
	return { ...(await loadRunTable(db(), event.url)), mayEdit: mayEditJobs(event) };
}

function bulk(action: BulkAction) {
	return async (event: RequestEvent) => {
		if (!mayEditJobs(event)) return fail(403, { error: 'You may look at runs here, not change them.' });
		try {
			const result = await applyToRuns(db(), events(), deleter(), action, await event.request.formData());
			if (result.refused.length > 0) return fail(409, { error: result.refused.join(' '), done: result.done });
			return { done: result.done, action };
		} catch (error) {
			if (error instanceof HttpError) return fail(error.status, { error: error.message });
			throw error;
		}
	};
}

export const actions: Actions = {
	archive: bulk('archive'),
	unarchive: bulk('unarchive'),
	tag: bulk('tag'),
	delete: bulk('delete')
};
