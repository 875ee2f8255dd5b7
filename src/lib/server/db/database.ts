import type { ColumnType, Generated } from 'kysely';

import type { JobSource, JobStatus } from '../../training/job';
import type { MetricKeyBlocksTable, MetricKeysTable, MetricRowsTable } from '../metrics/metrics.table';

/** A timestamptz with a database default. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** A timestamptz that is null until something happens. */
type MaybeTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface JobsTable {
	id: Generated<string>;
	name: string;
	base_model: string;
	dataset: string;
	epochs: number;
	steps_per_epoch: Generated<number>;
	learning_rate: number;
	batch_size: number;
	/** Seeds the simulated curve so that a job replays the same curve. */
	seed: number;
	status: Generated<JobStatus>;
	/** 'simulated' jobs are advanced by the simulator; 'external' ones by a training script through the API. */
	source: Generated<JobSource>;
	error: string | null;
	created_at: CreatedAt;
	started_at: MaybeTimestamp;
	finished_at: MaybeTimestamp;
	/** The instance that advances this running job, until `lease_expires_at` unless renewed. */
	lease_owner: string | null;
	lease_expires_at: MaybeTimestamp;
	/** The key that feeds the headline chart, stats, progress, the list and the toasts. */
	primary_metric: Generated<string>;
	/** The last position handed to one of this job's metric_rows (commit order). */
	metric_position: Generated<number>;
}

/** API tokens, kept as SHA-256 hashes; the token itself is shown once. */
export interface ApiTokensTable {
	id: Generated<string>;
	name: string;
	token_hash: string;
	hint: string;
	created_at: CreatedAt;
	revoked_at: MaybeTimestamp;
}

/** Heartbeats of live instances: running jobs are shared out among them. */
export interface VaporInstancesTable {
	id: string;
	seen_at: CreatedAt;
}

export interface Database {
	jobs: JobsTable;
	metric_keys: MetricKeysTable;
	metric_rows: MetricRowsTable;
	metric_key_blocks: MetricKeyBlocksTable;
	api_tokens: ApiTokensTable;
	vapor_instances: VaporInstancesTable;
}
