import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../events/database.ts';
import { isIllegalCommand } from '../events/decider-errors.ts';
import type { EventStore } from '../events/event-store.ts';
import { handleBuildCommand } from './command-handler.ts';
import { dropLease, lapsedLeases } from './leases.ts';

/**
 * The reaper (DESIGN.md "Timeouts, cancel and inactivity are replayed rules"): a claimed
 * stage whose lease lapsed — its runner stopped heartbeating — gets `ExpireLease`, which the
 * decider turns into `StageLeaseExpired` and `StageRequeued` with attempt + 1 (the
 * dispatcher then publishes the new attempt), or ends the stage in error at `maxAttempts`.
 * The command carries the lapsed token, so a stage that moved on meanwhile (finished,
 * handed back, claimed anew) is refused by the fence and only the stale row goes.
 */
export async function runReaper(options: {
  database: Database;
  store: EventStore;
  signal: AbortSignal;
  /** How often to look (default 1 s); a lease lapses at most this late. */
  everyMs?: number;
  maxAttempts?: number;
  now?: () => Date;
  log?: (message: string) => void;
}): Promise<void> {
  const { database, store, signal } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  while (!signal.aborted) {
    try {
      for (const lease of await lapsedLeases(database)) {
        if (signal.aborted) break;
        const key = { buildId: lease.buildId, stage: lease.stage, leaseToken: lease.leaseToken };
        try {
          await handleBuildCommand(
            store,
            lease.buildId,
            {
              type: 'ExpireLease',
              data: { stage: lease.stage, leaseToken: lease.leaseToken, maxAttempts: options.maxAttempts ?? 3, at: (options.now?.() ?? new Date()).toISOString() },
            },
            { actor: 'reaper', runnerId: lease.runnerId },
          );
          log(`runlog reaper: lease of ${lease.buildId}#${lease.stage} attempt ${lease.attempt} (runner ${lease.runnerId}) lapsed; stage requeued or ended`);
        } catch (error) {
          if (!isIllegalCommand(error)) throw error;
        }
        await dropLease(database, key);
      }
    } catch (error) {
      if (!signal.aborted) log(`runlog reaper: ${error instanceof Error ? error.message : String(error)}; retrying`);
    }
    await sleep(options.everyMs ?? 1000, undefined, { signal }).catch(() => {});
  }
}
