import type { Db } from '../db';
import { HttpError, badRequest } from '../errors';
import type { JobEvents } from '../events/job-events';
import { parseJobId } from '../ids';
import { deleteJob } from './job-deleter.service';
import type { JobDeleter } from './job-deleter';
import { patchJob } from './job-edits';
import { getRunPage, type RunPage } from './jobs.service';
import { parseRunListParams } from '../../training/run-list';
import { isEmptyQuery } from '../../training/run-query';
import { parseColumns } from '../../training/run-table';
import { tagsFromText } from '../../training/run-fields';

export interface RunTable {
	page: RunPage;
	/** Config keys shown as columns. */
	columns: string[];
	/** Whether anything narrows the list (the empty state then says "no match", not "no jobs yet"). */
	filtered: boolean;
	/** A bad address, in words; the table is empty then. */
	error?: string;
}

/** The jobs page: the run table for the address's query (unknown parameters are the page's own, such as cols). */
export async function loadRunTable(db: Db, url: URL): Promise<RunTable> {
	const columns = parseColumns(url.searchParams.get('cols'));
	const parsed = parseRunListParams(url.searchParams, { strict: false });
	if (!parsed.ok) return { page: { jobs: [] }, columns, filtered: true, error: parsed.error };
	const { request } = parsed;
	const filtered =
		!isEmptyQuery(request.query) ||
		request.statuses.length + request.sources.length + request.tags.length > 0 ||
		request.archived !== 'exclude' ||
		request.cursor !== undefined;
	const page = await getRunPage(db, { ...request, withConfig: columns.length > 0 });
	return { page, columns, filtered };
}

export const BULK_ACTIONS = ['archive', 'unarchive', 'tag', 'delete'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/**
 * An action on the selected rows (one row is a selection of one). Each job is changed on
 * its own; refusals (a running job cannot be deleted) are collected and said together.
 */
export async function applyToRuns(
	db: Db,
	events: JobEvents,
	deleter: JobDeleter,
	action: BulkAction,
	form: FormData
): Promise<{ done: number; refused: string[] }> {
	const ids = form.getAll('id').map((id) => parseJobId(String(id)));
	if (ids.length === 0) throw badRequest('Select one or more runs first.');
	const tags = tagsFromText(String(form.get('tags') ?? ''));
	if (action === 'tag' && tags.length === 0) throw badRequest('Type one or more tags, separated by commas.');
	let done = 0;
	const refused: string[] = [];
	for (const id of ids) {
		try {
			if (action === 'delete') await deleteJob(db, deleter, id);
			else if (action === 'tag') await patchJob(db, events, id, { addTags: tags });
			else await patchJob(db, events, id, { archived: action === 'archive' });
			done++;
		} catch (error) {
			if (!(error instanceof HttpError)) throw error;
			refused.push(error.message);
		}
	}
	return { done, refused };
}
