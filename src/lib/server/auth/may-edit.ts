import type { RequestEvent } from '@sveltejs/kit';

/**
 * Who may change a job (tags, note, config, archive, delete, bulk actions) from the
 * dashboard. The one place the decision is made: every edit action and every page that
 * shows edit controls asks here. Today everyone who reaches the dashboard may (writes
 * through the API need a token at the door); with roles, this is where "editor or admin"
 * goes.
 */
export function mayEditJobs(event: Pick<RequestEvent, 'locals'>): boolean {
	void event;
	return true;
}
