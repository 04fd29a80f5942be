import { and, eq, lte, sql } from 'drizzle-orm';
import type { Executor } from '../events/database.ts';
import { leases } from './leases-table.ts';

export type Lease = typeof leases.$inferSelect;
export type LeaseKey = { buildId: string; stage: number };

/** Seconds a claim lives without a heartbeat: RUNLOG_LEASE_TTL, default 60. */
export function leaseTtlSeconds(env = process.env): number {
  const text = env.RUNLOG_LEASE_TTL ?? '60';
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) {
    throw new RangeError(`RUNLOG_LEASE_TTL must be a number of seconds from 1 to 86400, got '${text}'`);
  }
  return seconds;
}

// Expiry is computed on the database's clock, not this process's: several server
// replicas (and the reaper in whichever one leads) then agree on when a lease lapsed.
const expiresIn = (ttlSeconds: number) => sql`now() + make_interval(secs => ${ttlSeconds})`;

/** The claim is recorded: this token holds the stage for `ttlSeconds`. A later attempt's claim replaces an earlier one's row. */
export async function recordLease(db: Executor, lease: Omit<Lease, 'expiresAt'>, ttlSeconds: number): Promise<void> {
  await db.db
    .insert(leases)
    .values({ ...lease, expiresAt: expiresIn(ttlSeconds) })
    .onConflictDoUpdate({
      target: [leases.buildId, leases.stage],
      set: { attempt: lease.attempt, leaseToken: lease.leaseToken, runnerId: lease.runnerId, expiresAt: expiresIn(ttlSeconds) },
    });
}

/**
 * A heartbeat: pushes the lease forward, only for the token that holds it. Resolves the
 * new expiry, or undefined when the lease is gone or another token holds the stage — the
 * runner has lost it (fencing) and must stop.
 */
export async function renewLease(db: Executor, key: LeaseKey & { leaseToken: string }, ttlSeconds: number): Promise<Date | undefined> {
  const [row] = await db.db
    .update(leases)
    .set({ expiresAt: expiresIn(ttlSeconds) })
    .where(and(eq(leases.buildId, key.buildId), eq(leases.stage, key.stage), eq(leases.leaseToken, key.leaseToken)))
    .returning({ expiresAt: leases.expiresAt });
  return row?.expiresAt;
}

export async function findLease(db: Executor, key: LeaseKey): Promise<Lease | undefined> {
  const [row] = await db.db
    .select()
    .from(leases)
    .where(and(eq(leases.buildId, key.buildId), eq(leases.stage, key.stage)))
    .limit(1);
  return row;
}

/** The stage ended or was handed back under this token: its lease is over. Another token's lease is left alone. */
export async function dropLease(db: Executor, key: LeaseKey & { leaseToken: string }): Promise<void> {
  await db.db.delete(leases).where(and(eq(leases.buildId, key.buildId), eq(leases.stage, key.stage), eq(leases.leaseToken, key.leaseToken)));
}

/** Leases whose runner stopped heartbeating, oldest first. */
export async function lapsedLeases(db: Executor, limit = 100): Promise<Lease[]> {
  return db.db.select().from(leases).where(lte(leases.expiresAt, sql`now()`)).orderBy(leases.expiresAt).limit(limit);
}
