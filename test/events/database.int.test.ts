// The Database port: opening each kind, migrations, persistence of an embedded folder.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { openDatabase, sqlStateOf } from '../../src/events/database.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';

describe('Database', () => {
  it('keeps an embedded database in its folder across reopening, migrating only once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runlog-pglite-'));
    try {
      const first = await openDatabase(join(dir, 'db'));
      assert.equal(first.kind, 'pglite');
      await createEventStore(first).append('s', 0, [{ type: 'A', data: { n: 1 } }]);
      await first.close();

      const again = await openDatabase(join(dir, 'db'));
      try {
        assert.deepEqual(
          (await createEventStore(again).readStream('s')).map((e) => e.data),
          [{ n: 1 }],
        );
        const [migrations] = await again.query<{ count: string }>(sql`select count(*)::text as count from drizzle.__drizzle_migrations`);
        assert.ok(Number(migrations!.count) >= 1);
      } finally {
        await again.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens Postgres from a URL, and reports SQLSTATEs through drizzle’s wrapping', async () => {
    const url = await freshDatabaseUrl('runlog_events');
    const database = await openDatabase(url);
    try {
      assert.equal(database.kind, 'postgres');
      await database.query(sql`insert into checkpoints (name) values ('x')`);
      const duplicate = await database.query(sql`insert into checkpoints (name) values ('x')`).catch((error: unknown) => error);
      assert.equal(sqlStateOf(duplicate), '23505');
      assert.equal(sqlStateOf(new Error('not from a database')), undefined);
      // a transaction that throws leaves nothing behind
      await assert.rejects(
        database.transaction(async (tx) => {
          await tx.query(sql`insert into checkpoints (name) values ('y')`);
          throw new Error('no');
        }),
        /no/,
      );
      assert.deepEqual(await database.query(sql`select name from checkpoints order by name`), [{ name: 'x' }]);
    } finally {
      await database.close();
      await dropDatabase(url);
    }
  });

  it('hands a notification to listeners of the same process at once, and to other processes through Postgres', async () => {
    const url = await freshDatabaseUrl('runlog_events');
    const here = await openDatabase(url);
    const elsewhere = await openDatabase(url);
    try {
      const heard: string[] = [];
      const unlisten = await here.listen('runlog_test', (payload) => heard.push(`here:${payload}`));
      let heardElsewhere!: () => void;
      const elsewhereHeard = new Promise<void>((resolve) => (heardElsewhere = resolve));
      const unlistenElsewhere = await elsewhere.listen('runlog_test', (payload) => payload === 'a' && heardElsewhere());
      const sent = here.notify('runlog_test', 'a');
      // Microtasks only: nothing has gone to Postgres and back yet.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.deepEqual(heard, ['here:a'], 'the listener of this process heard it before any round trip');
      await sent;
      await elsewhereHeard;
      await unlisten();
      await here.notify('runlog_test', 'b');
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.ok(!heard.includes('here:b'), 'an ended listen hears nothing more');
      await unlistenElsewhere();
    } finally {
      await here.close();
      await elsewhere.close();
      await dropDatabase(url);
    }
  });
});
