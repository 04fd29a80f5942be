/**
 * `runlog verify` and `runlog projections rebuild` over a big log, next to a raw cursor read
 * of the same events table with the same driver, in the same run, on real Postgres. The
 * figures are events/s and the ratio to the raw read:
 * - verify, chains only (`--no-views`): every event's sha256 over its canonical JSON, in one
 *   pass in log order;
 * - verify: the same pass tapped onto a replay of every projection into scratch tables,
 *   then every view compared with the live one, row by row;
 * - rebuild: replay into fresh tables and swap them in.
 *
 * The log is the projections benchmark's (bench/projections.bench.ts `load`: decider-made
 * builds, 100 running at a time, bulk-loaded with COPY); its placeholder hashes are then
 * replaced by the real chain, computed here over the events as stored.
 * Size: 1,000,000 events; `--events=N` or BENCH_EVENTS=N to scale down.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { verifyLog } from '../src/audit/verify.ts';
import { openPostgres } from '../src/events/database.ts';
import { eventHash, GENESIS_HASH } from '../src/events/hash-chain.ts';
import { createEventStore } from '../src/events/sql-event-store.ts';
import { projections } from '../src/projections/index.ts';
import { rebuildProjections } from '../src/projections/rebuild.ts';
import { dropDatabase, freshDatabaseUrl } from '../test/support/postgres.ts';
import { load } from './projections.bench.ts';

function eventCount(): number {
  const argv = process.argv;
  const at = argv.findIndex((arg) => arg === '--events' || arg.startsWith('--events='));
  const text = at < 0 ? process.env.BENCH_EVENTS : argv[at]!.includes('=') ? argv[at]!.split('=')[1] : argv[at + 1];
  const n = Number(text ?? 1_000_000);
  if (!Number.isSafeInteger(n) || n < 1000) throw new Error(`--events / BENCH_EVENTS must be a whole number >= 1000, got ${text}`);
  return n;
}

/** Replaces every event's placeholder hashes with the real chain: one pass in stream order, one UPDATE. */
export async function chain(url: string): Promise<void> {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  try {
    await sql`create unlogged table bench_hashes (global_position bigint primary key, prev_hash text not null, hash text not null)`;
    async function* lines() {
      let stream = '';
      let prev = GENESIS_HASH;
      let chunk = '';
      const cursor = sql`select global_position::text as position, stream_id, stream_version, type, data, metadata from events order by stream_id, stream_version`.cursor(5000);
      for await (const rows of cursor) {
        for (const row of rows) {
          if (row.stream_id !== stream) {
            stream = row.stream_id;
            prev = GENESIS_HASH;
          }
          const hash = eventHash(prev, { streamId: row.stream_id, streamVersion: row.stream_version, type: row.type, data: row.data, metadata: row.metadata });
          chunk += `${row.position}\t${prev}\t${hash}\n`;
          prev = hash;
        }
        yield chunk;
        chunk = '';
      }
    }
    const copy = await sql`copy bench_hashes (global_position, prev_hash, hash) from stdin`.writable();
    await pipeline(Readable.from(lines()), copy);
    await sql`update events e set prev_hash = h.prev_hash, hash = h.hash from bench_hashes h where e.global_position = h.global_position`;
    await sql`drop table bench_hashes`;
    await sql`vacuum analyze events`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A cursor over every row in log order, 1000 at a time, with the same driver the store's pool uses. */
async function rawRead(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const started = performance.now();
    let rows = 0;
    const cursor = sql`select global_position, transaction_id::text, stream_id, stream_version, type, data, metadata, recorded_at, prev_hash, hash
                       from events order by transaction_id, global_position`.cursor(1000);
    for await (const batch of cursor) rows += batch.length;
    return rows / ((performance.now() - started) / 1000);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);

export async function run(): Promise<void> {
  const url = process.env.RUNLOG_TEST_DATABASE_URL;
  if (!url) {
    console.log('  skipped: RUNLOG_TEST_DATABASE_URL is not set (scripts/services.sh start; source .runlog-test/env)');
    return;
  }
  const count = eventCount();
  const fresh = await freshDatabaseUrl('runlog_bench_audit');
  const database = await openPostgres(fresh);
  try {
    let started = performance.now();
    await load(fresh, count);
    await chain(fresh);
    console.log(`  loaded and chained ${count.toLocaleString('en-US')} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const store = createEventStore(database);
    await rawRead(fresh); // warm the cache, so every measured read starts from the same place

    const raw: number[] = [await rawRead(fresh)];
    const rebuilt = await rebuildProjections({ database, store, projections });
    if (rebuilt.events !== count) throw new Error(`rebuild saw ${rebuilt.events} events, expected ${count}`);
    raw.push(await rawRead(fresh));

    started = performance.now();
    const chains = await verifyLog({ database, store, views: false });
    const chainsRate = count / ((performance.now() - started) / 1000);
    if (!chains.ok || chains.chains.events !== count) throw new Error(`verify --no-views: ok ${chains.ok}, ${chains.chains.events} events`);
    raw.push(await rawRead(fresh));

    started = performance.now();
    const full = await verifyLog({ database, store });
    const fullRate = count / ((performance.now() - started) / 1000);
    if (!full.ok) throw new Error(`verify found problems in the bench log: ${JSON.stringify(full.chains.problems.slice(0, 3))} ${full.views?.error ?? ''}`);
    raw.push(await rawRead(fresh));

    const rawRate = raw.reduce((a, b) => a + b) / raw.length;
    const rows = full.views!.tables.map((t) => `${t.liveRows} ${t.table}`).join(', ');
    console.log(`  raw cursor read (postgres driver, 1000 rows a fetch)   ${fmt(rawRate)} events/s  (mean of ${raw.length} reads between the runs)`);
    console.log(`  verify --no-views (every chain)                         ${fmt(chainsRate)} events/s  ratio ${(chainsRate / rawRate).toFixed(2)}`);
    console.log(`  verify (chains + scratch replay + row-by-row compare)   ${fmt(fullRate)} events/s  ratio ${(fullRate / rawRate).toFixed(2)}  (${rows})`);
    console.log(`  projections rebuild                                     ${fmt(rebuilt.eventsPerSecond)} events/s  ratio ${(rebuilt.eventsPerSecond / rawRate).toFixed(2)}`);
  } finally {
    await database.close();
    await dropDatabase(fresh);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
