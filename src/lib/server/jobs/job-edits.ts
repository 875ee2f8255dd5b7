import { sql } from 'kysely';
import type { Db } from '../db';
import { badRequest, conflict } from '../errors';
import type { JobEvents } from '../events/job-events';
import { arrayLiteral } from '../ingest/array-literal';
import { log } from '../log';
import { findJob } from './jobs.repository';
import { jsonb, toJob } from './jobs.table';
import { getJob } from './jobs.service';
import type { Job } from '../../training/job';
import { checkConfig, mergeConfig } from '../../training/run-config';
import { patchedTags, TAGS_MAX, validateJobPatch, type JobPatch } from '../../training/run-fields';

/**
 * PATCH /api/training/jobs/{id}: tags, note, archived, and config additions. The row is
 * locked while the change is worked out, so two merges of config cannot lose each other.
 */
export async function patchJob(db: Db, events: JobEvents, id: string, input: unknown): Promise<Job> {
	const validated = validateJobPatch(input);
	if (!validated.ok) throw badRequest(validated.error, validated.fields);
	const patch = validated.value;

	await db.transaction().execute((trx) => applyJobPatch(trx, id, patch));

	const job = toJob((await findJob(db, id))!);
	// The same event a status change sends: every open list and monitor shows the new tags or note.
	await events.statusChanged(db, job);
	log.info('job edited', { jobId: id, fields: Object.keys(patch) });
	return job;
}

/**
 * Applies a validated patch inside the caller's transaction (the row is locked for it):
 * PATCH …/jobs/{id} and the MLflow drop-in's params and tags go through here. The caller
 * announces the job after the commit.
 */
export async function applyJobPatch(trx: Db, id: string, patch: JobPatch): Promise<void> {
	const current = await trx
		.selectFrom('jobs')
		.select(['config', 'tags', 'name'])
		.where('id', '=', id)
		.where('deleting_at', 'is', null)
		.forUpdate()
		.executeTakeFirst();
	if (!current) await getJob(trx, id); // the 404

	const changes: Record<string, unknown> = {};
	if (patch.tags || patch.addTags || patch.removeTags) {
		const tags = patchedTags(current!.tags, patch);
		if (tags.length > TAGS_MAX) {
			const message = `"${current!.name}" would have ${tags.length} tags; a job has at most ${TAGS_MAX}.`;
			throw badRequest(message, { tags: message });
		}
		changes.tags = arrayLiteral(tags);
	}
	if (patch.note !== undefined) changes.note = patch.note;
	if (patch.archived !== undefined) changes.archived_at = patch.archived ? sql`coalesce(archived_at, now())` : null;
	if (patch.config) {
		const merged = mergeConfig(current!.config, patch.config);
		if (!merged.ok) {
			throw conflict(
				`config.${merged.key} is already set to a different value on "${current!.name}"; a recorded config key cannot change.`
			);
		}
		const checked = checkConfig(merged.value);
		if (!checked.ok) throw badRequest(checked.error, { config: checked.error });
		if (merged.changed) changes.config = jsonb(checked.value);
	}
	if (Object.keys(changes).length > 0) await trx.updateTable('jobs').set(changes).where('id', '=', id).execute();
}

/** Renames a job inside the caller's transaction (an MLflow run renamed by its script). */
export async function renameJobLocked(trx: Db, id: string, name: string): Promise<void> {
	await trx.updateTable('jobs').set({ name }).where('id', '=', id).execute();
}

/** Sets the headline key of a job that has no values yet, inside the caller's transaction (an MLflow run's first metrics). */
export async function setPrimaryMetricLocked(trx: Db, id: string, key: string): Promise<void> {
	await trx.updateTable('jobs').set({ primary_metric: key }).where('id', '=', id).execute();
}
