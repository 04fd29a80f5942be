import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';

/** The advisory lock the server's singletons run under ('rlog' + 'lead'). */
export const LEADER_LOCK: readonly [number, number] = [1919709031, 1818583396];

/**
 * Leader election (DESIGN.md "Components"): runs `work` only while this process holds a
 * Postgres session advisory lock, so of several `runlog server` replicas on one database
 * exactly one runs the dispatcher and the reaper, and another takes over within about
 * `everyMs` once the leader dies (its session ends and Postgres releases the lock).
 *
 * The lock lives on a connection of its own (one session: a pooled connection could hand
 * the lock to an unrelated query's session). postgres.js reconnects silently after a drop,
 * which would leave us believing we lead without the lock, so every `everyMs` the leader
 * asks `pg_locks` whether its current session holds it; when not, `work`'s signal aborts,
 * it is awaited, and the process campaigns again. Resolves once `signal` aborted and
 * `work` finished; the lock is released with the session.
 */
export async function runAsLeader(options: {
  url: string;
  signal: AbortSignal;
  work: (signal: AbortSignal) => Promise<unknown>;
  everyMs?: number;
  lock?: readonly [number, number];
  log?: (message: string) => void;
}): Promise<void> {
  const { signal } = options;
  const [classId, objId] = options.lock ?? LEADER_LOCK;
  const everyMs = options.everyMs ?? 1000;
  const log = options.log ?? ((message: string) => console.error(message));
  const sql = postgres(options.url, { max: 1, onnotice: () => {}, connection: { application_name: 'runlog-leader' } });
  const holds = async () =>
    (
      await sql`select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and classid = ${classId}::int::oid and objid = ${objId}::int::oid and granted`
    ).length > 0;
  try {
    while (!signal.aborted) {
      let leading = false;
      try {
        const [row] = await sql`select pg_try_advisory_lock(${classId}::int, ${objId}::int) as ok`;
        leading = row?.ok === true;
      } catch (error) {
        if (!signal.aborted) log(`runlog leader: ${error instanceof Error ? error.message : String(error)}; retrying`);
      }
      if (!leading) {
        await sleep(everyMs, undefined, { signal }).catch(() => {});
        continue;
      }
      log('runlog leader: this server leads (dispatcher, reaper)');
      const term = new AbortController();
      const stop = () => term.abort();
      signal.addEventListener('abort', stop, { once: true });
      const working = options.work(term.signal).catch((error: unknown) => log(`runlog leader: work stopped with ${String(error)}`));
      try {
        while (!term.signal.aborted) {
          await sleep(everyMs, undefined, { signal: term.signal }).catch(() => {});
          if (term.signal.aborted) break;
          const still = await holds().catch(() => false);
          if (!still) {
            log('runlog leader: lost the leader lock (database session ended); stepping down');
            term.abort();
          }
        }
      } finally {
        signal.removeEventListener('abort', stop);
        term.abort();
        await working;
      }
      await sql`select pg_advisory_unlock(${classId}::int, ${objId}::int)`.catch(() => {});
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
