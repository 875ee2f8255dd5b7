import type { RequestEvent } from '@sveltejs/kit';
import { allows } from './roles';

/**
 * Who may change a job (tags, note, config, archive, delete, bulk actions) from the
 * dashboard: editors and admins, as the door decides for the writes themselves. The one
 * place the pages ask, so that a viewer is not shown controls the door would refuse.
 */
export function mayEditJobs(event: Pick<RequestEvent, 'locals'>): boolean {
	const access = event.locals.identity?.access;
	return access !== undefined && access !== 'none' && allows(access, 'write');
}
