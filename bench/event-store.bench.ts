/**
 * Appends through the event store next to raw INSERTs of the same rows with the same
 * driver and the same number of concurrent writers, in the same run, on real Postgres (and
 * PGlite for the embedded mode). The store adds the expected-version check, the hash chain
 * and a coalesced NOTIFY; the figure is store/raw (goal ≥ 0.7).
 *
 * Fairness: both sides insert the same payloads into the same table (raw fills the hash
 * columns with constants), through one client each with WRITERS connections, warmed up first
 * (connections open, statements prepared) so that neither pays that inside a timed phase.
 * Phases alternate raw, store, store, raw (ROUNDS times), so drift in the machine's load
 * falls on both sides alike; each side's rate is its events over its total time. On PGlite,
 * which runs on this thread, the ratio of CPU time per event is printed as well.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { sql as drizzleSql } from 'drizzle-orm';
import { openPglite, openPostgres, type Database } from '../src/events/database.ts';
import { createEventStore } from '../src/events/sql-event-store.ts';
import { dropDatabase, freshDatabaseUrl } from '../test/support/postgres.ts';

const WRITERS = 10;
const SINGLE_EVENTS = Number(process.env.BENCH_SINGLE_EVENTS ?? 3000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** `postgres` or `pglite` to bench one database only. */
const ONLY = process.env.BENCH_ONLY;
const BATCH_SIZE = 100;
const GOAL = 0.7;

type Payload = ReturnType<typeof payload>;
const payload = (index: number) => ({
  type: 'StepFinished',
  data: { stage: 1, step: (index % 20) + 1, exitCode: 0, status: 'success', logSize: 1234, logSha256: 'a'.repeat(64), at: new Date(0).toISOString() },
});

/** One side of the comparison: appends `events` after version `expected` of `streamId`. */
interface Writer {
  append(streamId: string, expected: number, events: readonly Payload[]): Promise<void>;
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

interface Scenario {
  readonly label: string;
  /** Events each side writes in all. */
  readonly events: number;
  /** Events per append: phases are a multiple of WRITERS appends. */
  readonly unit: number;
  readonly phase: (writer: Writer, events: number) => Promise<void>;
}

function scenarios(singles: number, batches: number): Scenario[] {
  return [
    {
      label: 'single events, each to a new stream',
      events: singles,
      unit: 1,
      phase: (writer, events) => inParallel(events, (index) => writer.append(`bench-${randomUUID()}`, 0, [payload(index)])),
    },
    {
      // What a build's stream sees: one writer appending event after event. The store knows
      // each head from its own previous append.
      label: 'single events, each writer on its stream',
      events: singles,
      unit: 1,
      phase: (writer, events) =>
        Promise.all(
          Array.from({ length: WRITERS }, async () => {
            const stream = `bench-${randomUUID()}`;
            for (let version = 0; version < events / WRITERS; version += 1) await writer.append(stream, version, [payload(version)]);
          }),
        ).then(() => {}),
    },
    {
      label: `batches of ${BATCH_SIZE}, each to a new stream`,
      events: batches * BATCH_SIZE,
      unit: BATCH_SIZE,
      phase: (writer, events) =>
        inParallel(events / BATCH_SIZE, (index) =>
          writer.append(
            `bench-${randomUUID()}`,
            0,
            Array.from({ length: BATCH_SIZE }, (_, i) => payload(index + i)),
          ),
        ),
    },
  ];
}

function storeWriter(database: Database): Writer {
  const store = createEventStore(database);
  return { append: async (streamId, expected, events) => void (await store.append(streamId, expected, events)) };
}

/** The same rows as the store writes, one INSERT per append, with the postgres driver's own prepared statements. */
function rawPostgresWriter(sql: postgres.Sql): Writer {
  return {
    async append(streamId, expected, events) {
      const rows = events.map((event, index) => ({
        stream_id: streamId,
        stream_version: expected + index + 1,
        type: event.type,
        data: sql.json(event.data),
        metadata: sql.json({}),
        prev_hash: '0'.repeat(64),
        hash: 'f'.repeat(64),
      }));
      await sql`insert into events ${sql(rows)}`;
    },
  };
}

function rawPgliteWriter(database: Database): Writer {
  return {
    async append(streamId, expected, events) {
      const values = events.map(
        (event, index) =>
          drizzleSql`(${streamId}, ${expected + index + 1}, ${event.type}, ${JSON.stringify(event.data)}::jsonb, '{}'::jsonb, ${'0'.repeat(64)}, ${'f'.repeat(64)})`,
      );
      await database.query(
        drizzleSql`insert into events (stream_id, stream_version, type, data, metadata, prev_hash, hash) values ${drizzleSql.join(values, drizzleSql`, `)}`,
      );
    },
  };
}

interface Totals {
  events: number;
  seconds: number;
  /** This process's CPU time (user + system). */
  cpuSeconds: number;
  rates: number[];
}

/**
 * Runs every scenario on both sides and prints the rates and the ratio. `inProcess`: the
 * database runs on this process's thread (PGlite), so its CPU time is all the work there is,
 * and the ratio of CPU times is printed too — on a busy machine it is much steadier than
 * wall-clock time, which also counts the time spent waiting for a CPU.
 */
async function compare(raw: Writer, store: Writer, list: readonly Scenario[], inProcess: boolean): Promise<void> {
  // Warm-up, untimed: every connection of both clients opened and every statement prepared.
  for (const scenario of list) {
    for (const writer of [raw, store]) await scenario.phase(writer, 2 * WRITERS * scenario.unit);
  }
  const results: Array<{ label: string; raw: Totals; store: Totals }> = [];
  for (const scenario of list) {
    const totals: Record<'raw' | 'store', Totals> = {
      raw: { events: 0, seconds: 0, cpuSeconds: 0, rates: [] },
      store: { events: 0, seconds: 0, cpuSeconds: 0, rates: [] },
    };
    const perPhase = roundTo(scenario.events / (2 * ROUNDS), WRITERS * scenario.unit);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const side of ['raw', 'store', 'store', 'raw'] as const) {
        const started = performance.now();
        const cpu = process.cpuUsage();
        await scenario.phase(side === 'raw' ? raw : store, perPhase);
        const seconds = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        totals[side].events += perPhase;
        totals[side].seconds += seconds;
        totals[side].cpuSeconds += (used.user + used.system) / 1e6;
        totals[side].rates.push(perPhase / seconds);
      }
    }
    results.push({ label: scenario.label, ...totals });
  }

  const rate = (totals: Totals) => totals.events / totals.seconds;
  const spread = (totals: Totals) => `${fmt(Math.min(...totals.rates))}–${fmt(Math.max(...totals.rates))}`;
  const verdict = (ratio: number) => `${ratio.toFixed(2).padStart(12)}   ${ratio >= GOAL ? 'meets' : 'BELOW'} the goal of ${GOAL.toFixed(2)}`;
  console.log(`  ${'events/s'.padStart(56)}   range over phases`);
  for (const { label, raw: r, store: s } of results) {
    console.log(`  ${label}`);
    console.log(`    ${'raw INSERT'.padEnd(40)} ${fmt(rate(r)).padStart(12)}   ${spread(r)}`);
    console.log(`    ${'store.append'.padEnd(40)} ${fmt(rate(s)).padStart(12)}   ${spread(s)}`);
    console.log(`    ${'store/raw'.padEnd(40)} ${verdict(rate(s) / rate(r))}`);
    if (inProcess) console.log(`    ${'store/raw by CPU time'.padEnd(40)} ${verdict(r.cpuSeconds / r.events / (s.cpuSeconds / s.events))}`);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const roundTo = (n: number, multiple: number) => Math.max(multiple, Math.round(n / multiple) * multiple);

export async function run(): Promise<void> {
  if (ONLY !== 'pglite') await onPostgres();
  if (ONLY !== 'postgres') await onPglite();
}

async function onPostgres(): Promise<void> {
  console.log(`Postgres 15 (postgres driver, ${WRITERS} connections per side, ${WRITERS} concurrent writers, ${2 * ROUNDS} alternating phases per side):`);
  const url = await freshDatabaseUrl('runlog_bench');
  const database = await openPostgres(url, { max: WRITERS });
  const sql = postgres(url, { max: WRITERS, onnotice: () => {} });
  try {
    await compare(rawPostgresWriter(sql), storeWriter(database), scenarios(SINGLE_EVENTS, BATCHES), false);
  } finally {
    await sql.end({ timeout: 5 });
    await database.close();
    await dropDatabase(url);
  }
}

async function onPglite(): Promise<void> {
  console.log(`PGlite (embedded, one connection, ${WRITERS} concurrent writers, ${2 * ROUNDS} alternating phases per side):`);
  const embedded = await openPglite();
  try {
    await compare(rawPgliteWriter(embedded), storeWriter(embedded), scenarios(Math.round(SINGLE_EVENTS / 3), Math.round(BATCHES / 3)), true);
  } finally {
    await embedded.close();
  }
}
