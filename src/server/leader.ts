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
 * it is awaited, and the process campaigns again. `work` ending by itself (a crash) also
 * steps down, so that a leader never holds the lock with nothing running under it.
 * Resolves once `signal` aborted and `work` finished; the lock is released with the session.
 *
 * A session that failed once is thrown away, never queried again: when Postgres kills a
 * backend while a query is in flight the socket is reset (ECONNRESET), and postgres.js
 * 3.4 then rejects that query but leaves the connection in its busy list — the next query
 * is pipelined onto the dead socket and never settles (not even `sql.end` without a
 * timeout finishes). That was the leader test's hang. Every query also has a deadline: a
 * leader that cannot prove it holds the lock within it steps down.
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
  const deadlineMs = Math.max(5 * everyMs, 5000);
  const log = options.log ?? ((message: string) => console.error(message));
  const session = leaderSession(options.url, deadlineMs);
  const holds = async () =>
    (
      await session.query((sql) => sql`select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and classid = ${classId}::int::oid and objid = ${objId}::int::oid and granted`)
    ).length > 0;
  try {
    while (!signal.aborted) {
      let leading = false;
      try {
        const [row] = await session.query((sql) => sql`select pg_try_advisory_lock(${classId}::int, ${objId}::int) as ok`);
        leading = row?.ok === true;
      } catch (error) {
        if (!signal.aborted) log(`runlog leader: ${error instanceof Error ? error.message : String(error)}; retrying`);
      }
      if (!leading) {
        await sleep(everyMs, undefined, { signal }).catch(() => {});
        continue;
      }
      // Stopped while the lock was being taken: an abort listener added now would never fire.
      if (signal.aborted) break;
      log('runlog leader: this server leads (dispatcher, reaper)');
      const term = new AbortController();
      const stop = () => term.abort();
      signal.addEventListener('abort', stop, { once: true });
      const working = options
        .work(term.signal)
        .catch((error: unknown) => log(`runlog leader: work stopped with ${String(error)}`))
        .finally(() => {
          if (!term.signal.aborted) log('runlog leader: work ended by itself; stepping down');
          term.abort();
        });
      let lost = false;
      try {
        while (!term.signal.aborted) {
          await sleep(everyMs, undefined, { signal: term.signal }).catch(() => {});
          if (term.signal.aborted) break;
          const still = await holds().catch(() => false);
          if (!still) {
            lost = true;
            log('runlog leader: lost the leader lock (database session ended); stepping down');
            term.abort();
          }
        }
      } finally {
        signal.removeEventListener('abort', stop);
        term.abort();
        await working;
      }
      // A lost lock went with its session; otherwise give it back so another replica may
      // lead while this one campaigns again (or ends, which releases it anyway).
      if (!lost && !signal.aborted) await session.query((sql) => sql`select pg_advisory_unlock(${classId}::int, ${objId}::int)`).catch(() => {});
      if (!signal.aborted && !lost) await sleep(everyMs, undefined, { signal }).catch(() => {});
    }
  } finally {
    await session.end();
  }
}

/**
 * One database session for the lock: a single-connection postgres.js client that is
 * replaced (the old one destroyed, which also ends its session and any lock on it) as soon
 * as one of its queries fails or outlives `deadlineMs`.
 */
function leaderSession(url: string, deadlineMs: number) {
  const open = () => postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'runlog-leader' } });
  let sql = open();
  const discard = (old: postgres.Sql) => old.end({ timeout: 0 }).catch(() => {});
  return {
    async query<T>(run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
      const current = sql;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          run(current),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`the database did not answer within ${deadlineMs} ms`)), deadlineMs);
          }),
        ]);
      } catch (error) {
        if (sql === current) {
          sql = open();
          await discard(current);
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    end: () => sql.end({ timeout: 5 }).catch(() => {}),
  };
}
