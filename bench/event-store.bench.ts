/**
 * Appends through the event store next to raw INSERTs of the same rows with the same
 * driver, in the same run, on real Postgres (and PGlite for the embedded mode). The store
 * adds the stream lock, the head read, the expected-version check and the hash chain;
 * the figure is store/raw (goal ≥ 0.7).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { openPglite, openPostgres, type Database } from '../src/events/database.ts';
import { createEventStore } from '../src/events/sql-event-store.ts';
import { dropDatabase, freshDatabaseUrl } from '../test/support/postgres.ts';

const WRITERS = 10;
const SINGLE_EVENTS = Number(process.env.BENCH_SINGLE_EVENTS ?? 3000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const BATCH_SIZE = 100;

const payload = (index: number) => ({
  type: 'StepFinished',
  data: { stage: 1, step: (index % 20) + 1, exitCode: 0, status: 'success', logSize: 1234, logSha256: 'a'.repeat(64), at: new Date(0).toISOString() },
});

async function timed(label: string, count: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const rate = count / seconds;
  console.log(`  ${label.padEnd(44)} ${Math.round(rate).toString().padStart(8)} events/s`);
  return rate;
}

/** `total` units of work shared by WRITERS concurrent loops. */
async function inParallel(total: number, work: (index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (let index = next++; index < total; index = next++) await work(index);
    }),
  );
}

async function storeRates(database: Database, singles: number, batches: number) {
  const store = createEventStore(database);
  const single = await timed(`store: single-event appends (${WRITERS} writers)`, singles, () =>
    inParallel(singles, async (index) => {
      await store.append(`bench-${randomUUID()}`, 0, [payload(index)]);
    }),
  );
  const batch = await timed(`store: batches of ${BATCH_SIZE}`, batches * BATCH_SIZE, () =>
    inParallel(batches, async () => {
      await store.append(`bench-${randomUUID()}`, 0, Array.from({ length: BATCH_SIZE }, (_, index) => payload(index)));
    }),
  );
  return { single, batch };
}

/** The same rows (hash columns filled with a constant), one INSERT per event or per batch. */
async function rawPostgresRates(url: string, singles: number, batches: number) {
  const sql = postgres(url, { max: WRITERS, onnotice: () => {} });
  const row = (stream: string, version: number, index: number) => ({
    stream_id: stream,
    stream_version: version,
    type: 'StepFinished',
    data: sql.json(payload(index).data),
    metadata: sql.json({}),
    prev_hash: '0'.repeat(64),
    hash: 'f'.repeat(64),
  });
  try {
    const single = await timed('raw INSERT: single rows', singles, () =>
      inParallel(singles, async (index) => {
        await sql`insert into events ${sql(row(`raw-${randomUUID()}`, 1, index))}`;
      }),
    );
    const batch = await timed(`raw INSERT: ${BATCH_SIZE} rows per statement`, batches * BATCH_SIZE, () =>
      inParallel(batches, async () => {
        const stream = `raw-${randomUUID()}`;
        await sql`insert into events ${sql(Array.from({ length: BATCH_SIZE }, (_, index) => row(stream, index + 1, index)))}`;
      }),
    );
    return { single, batch };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function rawPgliteRates(database: Database, singles: number, batches: number) {
  const { sql } = await import('drizzle-orm');
  const values = (stream: string, version: number, index: number) =>
    sql`(${stream}, ${version}, 'StepFinished', ${JSON.stringify(payload(index).data)}::jsonb, '{}'::jsonb, ${'0'.repeat(64)}, ${'f'.repeat(64)})`;
  const insert = (rows: ReturnType<typeof values>[]) =>
    database.query(sql`insert into events (stream_id, stream_version, type, data, metadata, prev_hash, hash) values ${sql.join(rows, sql`, `)}`);
  const single = await timed('raw INSERT: single rows', singles, () =>
    inParallel(singles, async (index) => void (await insert([values(`raw-${randomUUID()}`, 1, index)]))),
  );
  const batch = await timed(`raw INSERT: ${BATCH_SIZE} rows per statement`, batches * BATCH_SIZE, () =>
    inParallel(batches, async () => {
      const stream = `raw-${randomUUID()}`;
      await insert(Array.from({ length: BATCH_SIZE }, (_, index) => values(stream, index + 1, index)));
    }),
  );
  return { single, batch };
}

const ratio = (label: string, store: number, raw: number) => console.log(`  ${label.padEnd(44)} ${(store / raw).toFixed(2).padStart(8)} of raw (goal ≥ 0.70)`);

export async function run(): Promise<void> {
  console.log('Postgres 15 (postgres driver, 10 connections):');
  const url = await freshDatabaseUrl('runlog_bench');
  const database = await openPostgres(url, { max: WRITERS });
  try {
    // Raw first and store second would favour the store (warm caches); alternate halves instead.
    const rawA = await rawPostgresRates(url, SINGLE_EVENTS / 2, BATCHES / 2);
    const storeA = await storeRates(database, SINGLE_EVENTS / 2, BATCHES / 2);
    const storeB = await storeRates(database, SINGLE_EVENTS / 2, BATCHES / 2);
    const rawB = await rawPostgresRates(url, SINGLE_EVENTS / 2, BATCHES / 2);
    ratio('ratio: single-event appends', storeA.single + storeB.single, rawA.single + rawB.single);
    ratio('ratio: batches of 100', storeA.batch + storeB.batch, rawA.batch + rawB.batch);
  } finally {
    await database.close();
    await dropDatabase(url);
  }

  console.log('PGlite (embedded, one connection):');
  const embedded = await openPglite();
  try {
    const raw = await rawPgliteRates(embedded, SINGLE_EVENTS / 3, BATCHES / 3);
    const store = await storeRates(embedded, SINGLE_EVENTS / 3, BATCHES / 3);
    ratio('ratio: single-event appends', store.single, raw.single);
    ratio('ratio: batches of 100', store.batch, raw.batch);
  } finally {
    await embedded.close();
  }
}
