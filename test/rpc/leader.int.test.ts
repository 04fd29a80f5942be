import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { runAsLeader } from '../../src/server/leader.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';

// A lock of the test's own, so a server elsewhere on the test Postgres cannot interfere.
const lock = [1919709031, 7] as const;

async function until(condition: () => boolean, what: string, ms = 5000) {
  for (const started = Date.now(); !condition(); await sleep(20)) if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
}

describe('leader election on a Postgres advisory lock', () => {
  let url: string;
  before(async () => {
    url = await freshDatabaseUrl('runlog_leader');
  });
  after(async () => {
    await dropDatabase(url);
  });

  test('given two servers, one leads; when it stops, or its session is killed, the other takes over', async (t) => {
    // In a server the HTTP listener keeps the event loop alive; here nothing else does
    // while the candidates wait on their (unref'd) database sockets between ticks.
    const keepAlive = setInterval(() => {}, 1000);
    t.after(() => clearInterval(keepAlive));
    const leading = new Set<string>();
    const candidate = (name: string) => {
      const stop = new AbortController();
      const done = runAsLeader({
        url,
        lock,
        everyMs: 50,
        signal: stop.signal,
        log: () => {},
        work: async (signal) => {
          leading.add(name);
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          leading.delete(name);
        },
      });
      return { stop: () => stop.abort(), done };
    };
    const a = candidate('a');
    await until(() => leading.size === 1, 'a leads');
    const b = candidate('b');
    await sleep(300);
    assert.deepEqual([...leading], ['a'], 'only one leads');

    a.stop();
    await a.done;
    await until(() => leading.has('b'), 'b takes over after a stopped');
    assert.equal(leading.size, 1);

    // b's database session dies (a crashed host, a dropped connection): b must step down and lead again only with the lock.
    const c = candidate('c');
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sleep(200);
      assert.deepEqual([...leading], ['b']);
      const holder = await admin`select pid from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database()) and classid = ${lock[0]}::int::oid and objid = ${lock[1]}::int::oid and granted`;
      assert.equal(holder.length, 1);
      await admin`select pg_terminate_backend(${holder[0]!.pid})`;
      await until(() => leading.size === 1 && !leading.has('b'), 'c leads after b lost its session', 5000).catch(async () => {
        // b may have won the lock again on its new session: then it leads, and alone.
        await until(() => leading.size === 1, 'one leader after the session was killed');
      });
      await sleep(200);
      assert.equal(leading.size, 1, `exactly one leader, got ${[...leading].join(', ')}`);
    } finally {
      await admin.end({ timeout: 5 });
      b.stop();
      c.stop();
      await Promise.all([b.done, c.done]);
    }
    assert.equal(leading.size, 0);
  });

  test('given a leader whose session is killed in the middle of its queries, it still steps down, leads again and stops', async (t) => {
    const keepAlive = setInterval(() => {}, 1000);
    t.after(() => clearInterval(keepAlive));
    const own = [1919709031, 8] as const;
    let terms = 0;
    let leadingNow = false;
    const stop = new AbortController();
    // everyMs 5: a lock check is on the wire nearly all the time, so a kill lands mid-query
    // (the socket is reset) rather than on an idle connection.
    const done = runAsLeader({
      url,
      lock: own,
      everyMs: 5,
      signal: stop.signal,
      log: () => {},
      work: async (signal) => {
        terms++;
        leadingNow = true;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        leadingNow = false;
      },
    });
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      for (let kill = 1; kill <= 5; kill++) {
        await until(() => terms === kill && leadingNow, `term ${kill} leads`);
        const [holder] = await admin`select pid from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database()) and classid = ${own[0]}::int::oid and objid = ${own[1]}::int::oid and granted`;
        assert.ok(holder, 'the leader holds the lock');
        await admin`select pg_terminate_backend(${holder.pid})`;
        await until(() => terms === kill + 1 || !leadingNow, `term ${kill} ends after its session was killed`);
      }
    } finally {
      await admin.end({ timeout: 5 });
      stop.abort();
    }
    const stopped = await Promise.race([done.then(() => true), sleep(5000).then(() => false)]);
    assert.equal(stopped, true, 'runAsLeader finished within 5 s of its signal');
    assert.equal(leadingNow, false);
  });
});
