// The EventStore contract against embedded PGlite (PostgreSQL 18 in WASM). Starting a PGlite
// takes seconds (clone() too), so the file opens one in memory and empties it after each test;
// the tests of a file run one at a time, so none sees another's events.
import { after, describe } from 'node:test';
import { sql } from 'drizzle-orm';
import { openPglite } from '../../src/events/database.ts';
import type { Database } from '../../src/events/database.ts';
import { eventStoreContract } from './event-store.contract.ts';

let shared: Promise<Database> | undefined;

after(async () => {
  if (shared) await (await shared).close();
});

describe('EventStore on PGlite', () => {
  eventStoreContract(async () => {
    shared ??= openPglite();
    const database = await shared;
    return {
      ...database,
      close: async () => {
        await database.query(sql`truncate events, checkpoints restart identity`);
      },
    };
  });
});
