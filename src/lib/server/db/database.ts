import type { ColumnType, Generated } from 'kysely';

import type { JobSource, JobStatus } from '../../training/job';

/** A timestamptz with a database default. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
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
}

export interface MetricsTable {
	job_id: string;
	step: number;
	epoch: number;
	loss: number;
	accuracy: number | null;
	recorded_at: CreatedAt;
}

/** The M4 extremes of one completed block of steps, as parallel arrays in step order. */
export interface MetricBlocksTable {
	job_id: string;
	block: number;
	step: number[];
	epoch: number[];
	loss: number[];
	accuracy: (number | null)[];
	recorded_at: Date[];
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

export interface Database {
	jobs: JobsTable;
	metrics: MetricsTable;
	metric_blocks: MetricBlocksTable;
	api_tokens: ApiTokensTable;
	vapor_instances: VaporInstancesTable;
	users: UsersTable;
	sessions: SessionsTable;
	audit_log: AuditLogTable;
}
