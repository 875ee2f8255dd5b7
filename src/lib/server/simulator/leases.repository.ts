import { sql } from 'kysely';
import type { Db } from '../db';

/**
 * One lease round of an instance, in ONE statement: record its heartbeat; keep (renew)
 * its fair share of the running simulated jobs, ceil(running / live instances), and let
 * go of the rest so that a newly started instance gets work; then claim unowned or
 * expired jobs up to that share. Claims use FOR UPDATE SKIP LOCKED, so instances
 * claiming at once never take the same job, and never wait for each other.
 * Returns the ids of the jobs this instance holds now.
 */
export async function renewAndClaimLeases(db: Db, instanceId: string, leaseMs: number): Promise<string[]> {
	const lease = sql`(${leaseMs} * interval '1 millisecond')`;
	const { rows } = await sql<{ held: string[] }>`
		with heartbeat as (
			insert into vapor_instances (id, seen_at) values (${instanceId}, now())
			on conflict (id) do update set seen_at = excluded.seen_at
		),
		forgotten as (
			delete from vapor_instances where seen_at < now() - interval '1 day'
		),
		fair as (
			select ceil(
				(select count(*) from jobs where status = 'running' and source = 'simulated')::numeric
				/ ((select count(*) from vapor_instances where id <> ${instanceId} and seen_at > now() - ${lease}) + 1)
			)::integer as share
		),
		held as (
			select id, row_number() over (order by started_at, id) as rank
			from jobs where lease_owner = ${instanceId} and status = 'running' and source = 'simulated'
		),
		renewed as (
			update jobs set lease_expires_at = now() + ${lease}
			from held, fair where jobs.id = held.id and held.rank <= fair.share
			returning jobs.id
		),
		released as (
			update jobs set lease_owner = null, lease_expires_at = null
			from held, fair where jobs.id = held.id and held.rank > fair.share
			returning jobs.id
		),
		claimable as (
			select id from jobs
			where status = 'running' and source = 'simulated'
				and (lease_owner is null or (lease_owner <> ${instanceId} and lease_expires_at < now()))
			order by started_at, id
			limit (select greatest(0, share - (select count(*) from held where rank <= share)) from fair)
			for update skip locked
		),
		claimed as (
			update jobs set lease_owner = ${instanceId}, lease_expires_at = now() + ${lease}
			from claimable where jobs.id = claimable.id
			returning jobs.id
		)
		select array(select id from renewed union all select id from claimed)::text[] as held,
			(select count(*) from released) as released`.execute(db);
	return rows[0]?.held ?? [];
}

/** On a clean shutdown: hand this instance's jobs to the others at once, not after the lease. */
export async function releaseLeases(db: Db, instanceId: string): Promise<void> {
	await sql`
		with released as (
			update jobs set lease_owner = null, lease_expires_at = null where lease_owner = ${instanceId}
		)
		delete from vapor_instances where id = ${instanceId}`.execute(db);
}
