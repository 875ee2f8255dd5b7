import type { Migration } from 'kysely/migration';
import * as createJobsAndMetrics from './2026-11-29T0000_create-jobs-and-metrics';
import * as metricBlocks from './2026-11-29T0100_metric-blocks';
import * as externalJobsAndTokens from './2026-11-29T0300_external-jobs-and-tokens';
import * as jobLeases from './2026-11-29T0400_job-leases';
import * as usersSessionsAudit from './2026-12-01T0100_users-sessions-audit';
import * as namedMetrics from './2026-12-01T0200_named-metrics';
import * as runConfigTagsNotes from './2026-12-01T0300_run-config-tags-notes';
import * as jobContact from './2026-12-01T0500_job-contact';
import * as mlflowExperiments from './2026-12-02T0100_mlflow-experiments';
import * as keySummariesOffTheWritePath from './2026-12-02T0200_key-summaries-off-the-write-path';

/**
 * Every migration, by name. Listed by hand rather than read from the folder so that
 * the bundled server (adapter-node) and the `npm run migrate` script see the same set.
 */
export const migrations: Record<string, Migration> = {
	'2026-11-29T0000_create-jobs-and-metrics': createJobsAndMetrics,
	'2026-11-29T0100_metric-blocks': metricBlocks,
	'2026-11-29T0300_external-jobs-and-tokens': externalJobsAndTokens,
	'2026-11-29T0400_job-leases': jobLeases,
	'2026-12-01T0100_users-sessions-audit': usersSessionsAudit,
	'2026-12-01T0200_named-metrics': namedMetrics,
	'2026-12-01T0300_run-config-tags-notes': runConfigTagsNotes,
	'2026-12-01T0500_job-contact': jobContact,
	'2026-12-02T0100_mlflow-experiments': mlflowExperiments,
	'2026-12-02T0200_key-summaries-off-the-write-path': keySummariesOffTheWritePath
};
