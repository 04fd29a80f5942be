// How many network round trips each way of appending costs on a real Postgres server: the
// figure that decides append throughput (bench/event-store.bench.ts), kept from creeping back.
// A proxy between the pool and the server counts a round trip each time the client speaks
// after the server has answered. Run from event-store.postgres.int.test.ts, so that opening
// its database never overlaps the contract tests' commit-horizon reads (a migration running
// anywhere on the server holds readAll back until it commits).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { sql } from 'drizzle-orm';
import { appendToStream } from '../../src/events/append-to-stream.ts';
import { openPostgres } from '../../src/events/database.ts';
import type { Database } from '../../src/events/database.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { createEventStore } from '../../src/events/sql-event-store.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';
import { event } from './event-store.contract.ts';

interface CountingProxy {
  readonly port: number;
  roundTrips: number;
  close(): Promise<void>;
}

async function countingProxy(target: URL): Promise<CountingProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    let clientSpoke = false;
    client.on('data', (chunk) => {
      if (!clientSpoke) proxy.roundTrips += 1;
      clientSpoke = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      clientSpoke = false;
      client.write(chunk);
    });
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        other.destroy();
      });
      socket.on('error', () => other.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: CountingProxy = {
    port: (server.address() as net.AddressInfo).port,
    roundTrips: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}

export function eventStoreRoundTrips(): void {
  let url: string;
  let proxy: CountingProxy;
  let database: Database;
  let store: EventStore;

  before(async () => {
    url = await freshDatabaseUrl('runlog_events');
    proxy = await countingProxy(new URL(url));
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    // One connection: every statement below has been prepared on it once, as on a busy pool.
    database = await openPostgres(proxied.toString(), { max: 1 });
    store = createEventStore(database);
    await store.append('warm-up', 0, [event('A')]);
    await store.readStream('warm-up');
    await store.append('warm-up', 1, [event('B')]);
    await store.headOf('warm-up');
    await store.append('warm-up', 'any', [event('C')]);
    await database.transaction((tx) => appendToStream(tx, 'warm-up-tx', 0, [event('A')]));
  });

  after(async () => {
    await database?.close();
    await proxy?.close();
    if (url) await dropDatabase(url);
  });

  /** Round trips of `work` alone: the NOTIFY an append sends afterwards is let through first. */
  async function roundTripsOf(work: () => Promise<unknown>): Promise<number> {
    // The pool has one connection and serves it in order: this query ends after any NOTIFY.
    await database.query(sql`select 1`);
    proxy.roundTrips = 0;
    await work();
    return proxy.roundTrips;
  }

  it('an append to a new stream is one round trip', async () => {
    assert.equal(await roundTripsOf(() => store.append('build-new', 0, [event('A')])), 1);
    assert.equal(await roundTripsOf(() => store.append('build-batch', 0, Array.from({ length: 100 }, (_, i) => event('E', { i })))), 1);
  });

  it('reading a stream and appending to it is one round trip each', async () => {
    await store.append('build-read', 0, [event('A')]);
    assert.equal(await roundTripsOf(() => createEventStore(database).readStream('build-read')), 1);
    assert.equal(await roundTripsOf(() => store.readStream('build-read')), 1);
    assert.equal(await roundTripsOf(() => store.append('build-read', 1, [event('B')])), 1);
    assert.equal(await roundTripsOf(() => store.append('build-read', 2, [event('C')])), 1, 'after its own append');
    assert.equal(await roundTripsOf(() => store.headOf('build-read')), 1);
  });

  it('an append whose head the store does not know reads it first: two round trips', async () => {
    await createEventStore(database).append('build-elsewhere', 0, [event('A')]);
    assert.equal(await roundTripsOf(() => store.append('build-elsewhere', 1, [event('B')])), 2);
  });

  it('a stale expected version is refused in one round trip', async () => {
    await store.append('build-stale', 0, [event('A'), event('B')]);
    assert.equal(
      await roundTripsOf(() => store.append('build-stale', 1, [event('X')]).catch((error: unknown) => assert.equal((error as Error).name, 'StreamVersionConflict'))),
      1,
    );
  });

  it("'any' and an append in the caller's transaction take the stream lock: six round trips", async () => {
    await store.append('build-any', 0, [event('A')]);
    // BEGIN, first-write check, lock, head, insert, COMMIT
    assert.equal(await roundTripsOf(() => store.append('build-any', 'any', [event('B')])), 6);
    await store.append('build-tx', 0, [event('A')]);
    assert.equal(await roundTripsOf(() => database.transaction((tx) => appendToStream(tx, 'build-tx', 1, [event('B')]))), 6);
  });

  it("a new stream in the caller's transaction needs neither lock nor head: four round trips", async () => {
    // BEGIN, first-write check, insert, COMMIT (createBuild holds its number lock meanwhile)
    assert.equal(await roundTripsOf(() => database.transaction((tx) => appendToStream(tx, 'build-tx-new', 0, [event('A')]))), 4);
    await assert.rejects(
      database.transaction((tx) => appendToStream(tx, 'build-tx-new', 0, [event('A')])),
      (error: Error) => error.name === 'StreamVersionConflict',
    );
  });
}
