import type { ColumnType, Expression, Generated } from 'kysely';

import type { JobSource, JobStatus } from '../../training/job';
import type { JsonObject } from '../../training/run-config';
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
	/** Any JSON object (the five hyperparameters are copied into it); written with jobs.table's jsonb(). */
	config: ColumnType<JsonObject, Expression<JsonObject> | undefined, Expression<JsonObject>>;
	/** Written as an array literal (see ingest/array-literal.ts). */
	tags: ColumnType<string[], string | undefined, string>;
	note: ColumnType<string, string | undefined, string>;
	archived_at: MaybeTimestamp;
	/** Set when a delete was asked for: the job is gone from every read; jobs/job-deleter.ts removes it in batches. */
	deleting_at: MaybeTimestamp;
	/** An external job's script was last heard from (points or a heartbeat); see jobs/transitions.ts. */
	last_contact_at: MaybeTimestamp;
	/** The key that feeds the headline chart, stats, progress, the list and the toasts. */
	primary_metric: Generated<string>;
	/** The last position handed to one of this job's metric_rows (commit order). */
	metric_position: Generated<number>;
	/** The greatest step of any of its keys (0 before any value): a value above it is new for its key. */
	metric_step: Generated<number>;
}

/** API tokens, kept as SHA-256 hashes; the token itself is shown once. */
export interface ApiTokensTable {
	id: Generated<string>;
	name: string;
	token_hash: string;
	hint: string;
	created_at: CreatedAt;
	revoked_at: MaybeTimestamp;
	/** The owner; null for tokens made before accounts existed, or by the CLI. */
	user_id: string | null;
	scope: Generated<TokenScope>;
}

export type Role = 'viewer' | 'editor' | 'admin';
export type TokenScope = 'read' | 'write';

export interface UsersTable {
	id: Generated<string>;
	username: string;
	role: Role;
	/** null for users only a proxy signs in. */
	password_hash: string | null;
	created_at: CreatedAt;
}

export interface SessionsTable {
	/** SHA-256 of the cookie value. */
	id_hash: string;
	user_id: string;
	created_at: CreatedAt;
	expires_at: Date;
}

export interface AuditLogTable {
	id: Generated<string>;
	at: CreatedAt;
	action: string;
	actor: string;
	token_id: string | null;
	token_name: string | null;
	token_hint: string | null;
	address: string | null;
}

/** Heartbeats of live instances: running jobs are shared out among them. */
export interface VaporInstancesTable {
	id: string;
	seen_at: CreatedAt;
}

/** MLflow's experiments, for the MLflow drop-in (server/mlflow/); 0 is "Default". */
export interface MlflowExperimentsTable {
	id: Generated<number>;
	name: string;
	artifact_location: Generated<string>;
	/** MLflow's experiment tags, key → value. */
	tags: ColumnType<
		Record<string, string>,
		Expression<Record<string, string>> | undefined,
		Expression<Record<string, string>>
	>;
	created_at: CreatedAt;
	updated_at: CreatedAt;
}

/** A job created as an MLflow run: its experiment, the client's user and its MLflow tags as sent. */
export interface MlflowRunsTable {
	job_id: string;
	experiment_id: number;
	user_id: Generated<string>;
	tags: ColumnType<
		Record<string, string>,
		Expression<Record<string, string>> | undefined,
		Expression<Record<string, string>>
	>;
}

export interface Database {
	jobs: JobsTable;
	metric_keys: MetricKeysTable;
	metric_rows: MetricRowsTable;
	metric_key_blocks: MetricKeyBlocksTable;
	api_tokens: ApiTokensTable;
	vapor_instances: VaporInstancesTable;
	users: UsersTable;
	sessions: SessionsTable;
	audit_log: AuditLogTable;
	mlflow_experiments: MlflowExperimentsTable;
	mlflow_runs: MlflowRunsTable;
}
