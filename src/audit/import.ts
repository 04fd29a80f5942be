// `runlog import`: an export file into an EMPTY database (Postgres or PGlite), then the views
// rebuilt from it and the result verified against the file's manifest.
//
// Two passes over the file. The first only reads: the format, every stream's hash chain (in
// the file's order, which is the log order), and the manifest's heads against the events —
// a deleted last event, an edited one whose hash was recomputed, a truncated file are all
// refused before anything is written. The second writes the events with their original
// global positions, in the file's order: rows go in transactions of increasing position,
// and a new transaction starts wherever the position goes down (the source had a later
// transaction with a lower position), so the new log's (transaction id, position) order is
// the file's order and exporting it again gives the same bytes.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import type { Database, Executor } from '../events/database.ts';
import { events as eventsTable } from '../events/event-table.ts';
import type { ChainProblem } from '../events/hash-chain.ts';
import type { EventStore } from '../events/event-store.ts';
import { createEventStore } from '../events/sql-event-store.ts';
import { logChunks } from '../logs/log-table.ts';
import { projections } from '../projections/index.ts';
import { rebuildProjections, type RebuildResult } from '../projections/rebuild.ts';
import { classifyStream, createChainWalker, type WalkedEvent } from './chain-walk.ts';
import { nextSection, parseExportLine, type ExportedChunk, type ExportedEvent, type ExportEnd, type ExportSection, type ExportSelection } from './export-format.ts';
import { verifyLog, type ManifestHeads, type VerifyReport } from './verify.ts';

/** What is wrong with an export file, found before anything was written. */
export interface FileProblem {
  readonly kind: 'edited' | 'deleted' | 'reordered' | 'manifest' | 'format';
  readonly streamId?: string;
  readonly streamVersion?: number;
  readonly line?: number;
  readonly detail: string;
}

/** The import did not start: the file is damaged or the database is not empty. Nothing was written. */
export class ImportRefused extends Error {
  override readonly name = 'ImportRefused';
  constructor(
    message: string,
    readonly problems: readonly FileProblem[] = [],
  ) {
    super(message);
  }
}

export interface FileCheck {
  readonly selection: ExportSelection;
  readonly end: ExportEnd;
  readonly manifest: ManifestHeads;
}

export interface ImportResult extends FileCheck {
  readonly rebuilt: RebuildResult;
  readonly verified: VerifyReport;
}

export interface ImportOptions {
  readonly database: Database;
  readonly path: string;
  /** `wait`: for a transaction elsewhere in the cluster to end (`events` then counts seconds). */
  readonly onProgress?: (progress: { phase: 'check' | 'write' | 'wait' | 'rebuild' | 'verify'; events: number; total: number }) => void;
  /** Events per transaction at most; default 2000. */
  readonly batchSize?: number;
}

export async function importLog(options: ImportOptions): Promise<ImportResult> {
  const { database } = options;
  const checked = await checkExportFile(options.path, (events) => options.onProgress?.({ phase: 'check', events, total: 0 }));
  const [{ events: held, logs: heldLogs }] = (await database.query<{ events: boolean; logs: boolean }>(
    sql`select exists(select 1 from ${eventsTable}) as events, exists(select 1 from ${logChunks}) as logs`,
  )) as [{ events: boolean; logs: boolean }];
  if (held || heldLogs) {
    throw new ImportRefused(
      'the database already holds events or logs: import only into an empty database (a new RUNLOG_DATABASE_URL database, or RUNLOG_DATA pointing to an empty folder), so nothing stored is mixed or lost',
    );
  }
  const total = checked.end.events;
  try {
    await writeEvents(database, options.path, options.batchSize ?? 2000, (events) => options.onProgress?.({ phase: 'write', events, total }));
  } catch (error) {
    // The database was empty: emptying it again loses nothing and allows a retry.
    await database.query(sql`delete from ${eventsTable}`).catch(() => {});
    await database.query(sql`delete from ${logChunks}`).catch(() => {});
    throw new Error(`import failed, the database is empty again: ${(error as Error).message}`);
  }
  const store = createEventStore(database);
  await untilReadable(database, store, (waitedMs) => options.onProgress?.({ phase: 'wait', events: Math.round(waitedMs / 1000), total: 0 }));
  const rebuilt = await rebuildProjections({ database, store, projections, onProgress: (p) => options.onProgress?.({ phase: 'rebuild', events: p.events, total }) });
  const verified = await verifyLog({ database, store, manifest: checked.manifest, onProgress: (p) => options.onProgress?.({ phase: 'verify', events: p.events, total }) });
  return { ...checked, rebuilt, verified };
}

/**
 * Waits until every imported event is readable by followers: below the commit horizon, which
 * a transaction still running anywhere in the cluster (another database's, even) holds back.
 * Rebuilding before that would miss the events it holds back.
 */
async function untilReadable(database: Database, store: EventStore, onWait: (waitedMs: number) => void): Promise<void> {
  const [last] = await database.query<{ tx: string; position: string }>(
    sql`select transaction_id::text as tx, global_position::text as position from ${eventsTable} order by transaction_id desc, global_position desc limit 1`,
  );
  if (!last) return;
  const started = performance.now();
  for (;;) {
    const readable = await store.lastCheckpoint();
    if (readable && readable.transactionId === last.tx && readable.globalPosition === last.position) return;
    onWait(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every line of a file, numbered from 1 (blank lines skipped). */
async function* lines(path: string): AsyncGenerator<{ text: string; line: number }> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const reader = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of reader) {
      line += 1;
      if (text.trim() !== '') yield { text, line };
    }
  } finally {
    reader.close();
    input.destroy();
  }
}

/**
 * The first pass: reads the whole file without writing, and throws ImportRefused listing
 * every problem (format, chains, manifest) when there is any.
 */
export async function checkExportFile(path: string, onProgress?: (events: number) => void): Promise<FileCheck> {
  const walker = createChainWalker();
  const positions = new Set<string>();
  const manifest = new Map<string, { version: number; hash: string }>();
  const problems: FileProblem[] = [];
  let section: ExportSection = 'start';
  let selection: ExportSelection = {};
  let end: ExportEnd | undefined;
  let events = 0;
  let logs = 0;
  try {
    for await (const { text, line } of lines(path)) {
      const parsed = parseExportLine(text, line);
      section = nextSection(section, parsed, line);
      switch (parsed.kind) {
        case 'header':
          selection = parsed.selection;
          break;
        case 'event':
          if (positions.has(parsed.event.position)) {
            problems.push({ kind: 'format', line, streamId: parsed.event.stream, streamVersion: parsed.event.version, detail: `global position ${parsed.event.position} appears twice` });
          }
          positions.add(parsed.event.position);
          events += 1;
          walker.feed([walked(parsed.event, line)]);
          if (events % 10_000 === 0) onProgress?.(events);
          break;
        case 'log':
          logs += 1;
          break;
        case 'head':
          manifest.set(parsed.head.stream, { version: parsed.head.version, hash: parsed.head.hash });
          break;
        case 'end':
          end = parsed.end;
          break;
      }
    }
  } catch (error) {
    if (error instanceof Error && error.name === 'ExportFormatError') throw new ImportRefused(`${path}: ${error.message}`, [{ kind: 'format', detail: error.message }]);
    throw error;
  }
  if (section === 'start') throw new ImportRefused(`${path} is empty: expected a runlog export file (runlog export > file.ndjson)`);
  if (!end) throw new ImportRefused(`${path} has no end line: the file is truncated (an export that did not finish, or a partial copy); export again`);
  if (end.events !== events || end.streams !== manifest.size || end.logs !== logs) {
    problems.push({ kind: 'manifest', detail: `the end line counts ${end.events} events, ${end.streams} streams and ${end.logs} log chunks; the file holds ${events}, ${manifest.size} and ${logs}` });
  }

  const heads = walker.heads();
  for (const [stream, head] of heads) {
    const expected = manifest.get(stream);
    if (!expected) problems.push({ kind: 'manifest', streamId: stream, detail: `stream ${stream} has events but no head in the manifest` });
    else if (head.version > expected.version) problems.push({ kind: 'manifest', streamId: stream, streamVersion: expected.version + 1, detail: `events past the head the manifest records (version ${expected.version})` });
    else if (head.version < expected.version) {
      problems.push({ kind: 'deleted', streamId: stream, streamVersion: head.version + 1, detail: `the manifest records version ${expected.version} as the head, the file ends at version ${head.version}` });
    } else if (head.hash !== expected.hash) {
      problems.push({ kind: 'edited', streamId: stream, streamVersion: head.version, detail: `the last event's hash differs from the manifest's: it was changed and its hash recomputed` });
    }
  }
  for (const [stream, expected] of manifest) {
    if (!heads.has(stream)) problems.push({ kind: 'deleted', streamId: stream, streamVersion: 1, detail: `the manifest records version ${expected.version} as the head, the file has no event of the stream` });
  }

  const suspects = new Set(walker.suspects());
  if (suspects.size > 0) problems.push(...(await classifySuspects(path, suspects)));
  if (problems.length > 0) throw new ImportRefused(`${path} is not an intact export: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was imported`, problems);
  return { selection, end, manifest };
}

/** Line order is the log order: the line number stands in for the transaction id. */
const walked = (event: ExportedEvent, line: number): WalkedEvent => ({
  transactionId: String(line),
  globalPosition: event.position,
  streamId: event.stream,
  streamVersion: event.version,
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  prevHash: event.prevHash,
  hash: event.hash,
});

async function classifySuspects(path: string, suspects: ReadonlySet<string>): Promise<FileProblem[]> {
  const byStream = new Map<string, WalkedEvent[]>();
  for await (const { text, line } of lines(path)) {
    const parsed = parseExportLine(text, line);
    if (parsed.kind !== 'event' || !suspects.has(parsed.event.stream)) continue;
    const list = byStream.get(parsed.event.stream) ?? [];
    list.push(walked(parsed.event, line));
    byStream.set(parsed.event.stream, list);
  }
  const problems: ChainProblem[] = [];
  for (const list of byStream.values()) problems.push(...classifyStream(list));
  return problems.map((p) => ({ kind: p.kind, streamId: p.streamId, streamVersion: p.streamVersion, detail: p.detail }));
}

async function writeEvents(database: Database, path: string, batchSize: number, onProgress: (events: number) => void): Promise<void> {
  let batch: ExportedEvent[] = [];
  let bytes = 0;
  let chunks: ExportedChunk[] = [];
  let written = 0;
  let maxPosition = 0n;
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    bytes = 0;
    await database.transaction((tx) => insertEvents(tx, rows));
    written += rows.length;
    onProgress(written);
  };
  const flushChunks = async () => {
    if (chunks.length === 0) return;
    const rows = chunks;
    chunks = [];
    await database.transaction((tx) => insertChunks(tx, rows));
  };
  for await (const { text, line } of lines(path)) {
    const parsed = parseExportLine(text, line);
    if (parsed.kind === 'event') {
      const position = BigInt(parsed.event.position);
      // A lower position than the last one must land in a later transaction to keep its place in the log.
      const last = batch[batch.length - 1];
      if (last && (position < BigInt(last.position) || batch.length >= batchSize || bytes > 4 << 20)) await flush();
      batch.push(parsed.event);
      bytes += text.length;
      if (position > maxPosition) maxPosition = position;
    } else if (parsed.kind === 'log') {
      await flush();
      chunks.push(parsed.chunk);
      if (chunks.length >= batchSize) await flushChunks();
    }
  }
  await flush();
  await flushChunks();
  // Appends after the import continue after the highest imported position.
  if (maxPosition > 0n) await database.query(sql`select setval(pg_get_serial_sequence('events', 'global_position'), ${maxPosition.toString()}::bigint)`);
}

async function insertEvents(tx: Executor, rows: readonly ExportedEvent[]): Promise<void> {
  const json = JSON.stringify(
    rows.map((e) => ({
      global_position: e.position,
      stream_id: e.stream,
      stream_version: e.version,
      type: e.type,
      data: e.data,
      metadata: e.metadata,
      recorded_at: e.recordedAt,
      prev_hash: e.prevHash,
      hash: e.hash,
    })),
  );
  // transaction_id takes its default, this transaction's id: ordering by it then position gives the file's order.
  await tx.query(sql`
    insert into ${eventsTable} (global_position, stream_id, stream_version, type, data, metadata, recorded_at, prev_hash, hash)
    select global_position, stream_id, stream_version, type, data, metadata, recorded_at, prev_hash, hash
    from jsonb_to_recordset(${json}::jsonb) as x(global_position bigint, stream_id text, stream_version integer, type text, data jsonb,
                                                metadata jsonb, recorded_at timestamptz, prev_hash text, hash text)
    order by global_position`);
}

async function insertChunks(tx: Executor, rows: readonly ExportedChunk[]): Promise<void> {
  const json = JSON.stringify(rows.map((c) => ({ build_id: c.build, stage: c.stage, step: c.step, offset: c.offset, size: c.size, created: c.created, data: c.data })));
  await tx.query(sql`
    insert into ${logChunks} (build_id, stage, step, "offset", size, created, data)
    select build_id, stage, step, "offset", size, created, data
    from jsonb_to_recordset(${json}::jsonb) as x(build_id uuid, stage integer, step integer, "offset" bigint, size integer, created timestamptz, data text)`);
}
