// `runlog verify`: is the log intact, and are the views what it says? Three checks:
// - chains: every stream's hash chain, in one pass over the log (chain-walk.ts), each
//   suspect stream then named version by version by `verifyChain` (classifyStream);
// - heads: a deleted *last* event leaves no hole in its chain, but the views remember the
//   version they saw (builds.version, repos.version), and an export's manifest records each
//   stream's head: a head below either is a deleted tail;
// - views: the log replayed into scratch tables, compared with the live ones (view-check.ts).
// The replay reads the log once and the chain walk taps that same read.
import { and, eq, sql } from 'drizzle-orm';
import { canonicalJson } from '../events/canonical-json.ts';
import { compareCheckpoints } from '../events/checkpoint.ts';
import type { Database } from '../events/database.ts';
import type { EventStore, StoredEvent } from '../events/event-store.ts';
import { events as eventsTable } from '../events/event-table.ts';
import type { ChainProblem } from '../events/hash-chain.ts';
import { projections as allProjections } from '../projections/index.ts';
import type { Projection } from '../projections/projection.ts';
import { liveTarget, readCheckpoints } from '../projections/projection-writer.ts';
import type { RebuildProgress } from '../projections/rebuild.ts';
import { tableMeta } from '../projections/table-meta.ts';
import { builds, queue, repos, stages, steps } from '../projections/tables.ts';
import { buildViewRows, perBuildTables } from './build-views.ts';
import { classifyStream, createChainWalker, inLogOrder, type ChainWalker } from './chain-walk.ts';
import { fromStored } from './history-event.ts';
import { compareViews, rowDifference, type RowDifference, type ViewReport } from './view-check.ts';

/** A stream head that something outside the chain remembers higher (or different) than the log holds. */
export interface HeadProblem {
  readonly kind: 'deleted' | 'edited';
  readonly streamId: string;
  /** The first version missing (deleted), or the version whose hash differs (edited). */
  readonly streamVersion: number;
  readonly detail: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** 'log' for the whole log, else the build's stream id. */
  readonly scope: string;
  readonly chains: {
    readonly streams: number;
    readonly events: number;
    readonly problems: readonly ChainProblem[];
    /**
     * Events in the table when verify began that it could not read yet: a transaction still
     * running somewhere in the cluster holds the commit horizon below them. Not checked.
     */
    readonly heldBack?: number;
  };
  readonly heads: readonly HeadProblem[];
  /** null when the views were not checked (`--no-views`). */
  readonly views: ViewReport | null;
  readonly elapsedMs: number;
}

/** Expected stream heads, from an export's manifest. */
export type ManifestHeads = ReadonlyMap<string, { readonly version: number; readonly hash: string }>;

export type VerifyPhase = 'log' | 'views' | 'rest' | 'suspects';
export interface VerifyProgress extends RebuildProgress {
  readonly phase: VerifyPhase;
}

export interface VerifyOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly projections?: readonly Projection[];
  /** Compare the views too; default true. */
  readonly views?: boolean;
  readonly manifest?: ManifestHeads;
  readonly batchSize?: number;
  readonly maxDifferences?: number;
  readonly onProgress?: (progress: VerifyProgress) => void;
  readonly signal?: AbortSignal;
}

export async function verifyLog(options: VerifyOptions): Promise<VerifyReport> {
  const { database, store } = options;
  const started = performance.now();
  const walker = createChainWalker();
  const [{ total } = { total: 0 }] = await database.query<{ total: number | string }>(sql`select count(*) as total from ${eventsTable}`);
  const progress = (phase: VerifyPhase, events: number) =>
    options.onProgress?.({ phase, events, total: Number(total), elapsedMs: performance.now() - started });

  let views: ViewReport | null = null;
  if (options.views ?? true) {
    // The replay's read feeds the chain walk: the log is read once for both.
    const tapped: EventStore = {
      ...store,
      readAllBatches: async function* (readOptions) {
        for await (const batch of store.readAllBatches(readOptions)) {
          walker.feed(batch);
          yield batch;
        }
      },
    };
    try {
      views = await compareViews({
        database,
        store: tapped,
        projections: options.projections ?? allProjections,
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        ...(options.maxDifferences !== undefined ? { maxDifferences: options.maxDifferences } : {}),
        onProgress: (p) => progress('views', p.events),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      options.signal?.throwIfAborted();
      views = { checkpoints: {}, tables: [], differences: [], error: `the views could not be rebuilt to compare: ${(error as Error).message}` };
    }
  }

  // The rest of the log: past where the views stand, or all of it without views.
  for await (const batch of prefetched(store.readAllBatches({ after: walker.last, batchSize: options.batchSize ?? 5000, ...(options.signal ? { signal: options.signal } : {}) }))) {
    walker.feed(batch);
    progress('rest', walker.events);
  }
  options.signal?.throwIfAborted();

  const problems: ChainProblem[] = [];
  const suspects = walker.suspects();
  for (const [i, streamId] of suspects.entries()) {
    problems.push(...classifyStream(await store.readStream(streamId)));
    progress('suspects', i + 1);
  }
  const heads = [...(await headsBelowViews(database, store, walker)), ...(options.manifest ? await headsBelowManifest(database, walker, options.manifest) : [])];
  const ok = problems.length === 0 && heads.length === 0 && (views === null || (views.error === undefined && views.differences.length === 0));
  const heldBack = Math.max(0, Number(total) - walker.events);
  return {
    ok,
    scope: 'log',
    chains: { streams: walker.streams, events: walker.events, problems, ...(heldBack > 0 ? { heldBack } : {}) },
    heads,
    views,
    elapsedMs: performance.now() - started,
  };
}

/** The next batch is read while this one is hashed: the database works while this process does. */
async function* prefetched<T>(batches: AsyncGenerator<T, void, undefined>): AsyncGenerator<T, void, undefined> {
  let next = batches.next();
  try {
    for (;;) {
      const { value, done } = await next;
      if (done) return;
      next = batches.next();
      // A failed read surfaces where it is awaited, in the next round.
      next.catch(() => {});
      yield value;
    }
  } finally {
    await next.catch(() => {});
    await batches.return(undefined);
  }
}

/** Streams whose view row says it saw a later version than the log now holds. */
async function headsBelowViews(database: Database, store: EventStore, walker: ChainWalker): Promise<HeadProblem[]> {
  const seen = walker.heads();
  const rows = [
    ...(await database.db.select({ id: builds.id, version: builds.version }).from(builds)).map((row) => ({ streamId: `build-${row.id}`, version: row.version, view: 'builds' })),
    ...(await database.db.select({ id: repos.id, version: repos.version }).from(repos)).map((row) => ({ streamId: `repo-${row.id}`, version: row.version, view: 'repos' })),
  ];
  const problems: HeadProblem[] = [];
  for (const row of rows) {
    const walked = seen.get(row.streamId)?.version ?? 0;
    if (row.version <= walked) continue;
    // The views may have moved past the end of the walk (a server is appending): ask the log now.
    const head = await store.headOf(row.streamId);
    if (row.version <= head.streamVersion) continue;
    problems.push({
      kind: 'deleted',
      streamId: row.streamId,
      streamVersion: head.streamVersion + 1,
      detail: `the ${row.view} view saw version ${row.version}, the log ends at version ${head.streamVersion}: ${describeRange(head.streamVersion + 1, row.version)} deleted`,
    });
  }
  return problems;
}

/** Streams whose head is below (or differs from) the head an export's manifest recorded. */
async function headsBelowManifest(database: Database, walker: ChainWalker, manifest: ManifestHeads): Promise<HeadProblem[]> {
  const seen = walker.heads();
  const problems: HeadProblem[] = [];
  for (const [streamId, expected] of manifest) {
    const head = seen.get(streamId);
    const version = head?.version ?? 0;
    if (version < expected.version) {
      problems.push({
        kind: 'deleted',
        streamId,
        streamVersion: version + 1,
        detail: `the manifest records version ${expected.version} as the head, the log ends at version ${version}: ${describeRange(version + 1, expected.version)} deleted`,
      });
      continue;
    }
    // The log may have grown since the export; the event at the manifest's head must still be the one exported.
    const hash = version === expected.version ? head!.hash : (
      await database.db.select({ hash: eventsTable.hash }).from(eventsTable).where(and(eq(eventsTable.streamId, streamId), eq(eventsTable.streamVersion, expected.version)))
    )[0]?.hash;
    if (hash !== expected.hash) {
      problems.push({
        kind: 'edited',
        streamId,
        streamVersion: expected.version,
        detail: `version ${expected.version} has hash ${String(hash).slice(0, 12)}…, the manifest records ${expected.hash.slice(0, 12)}… (the event was changed and its hash recomputed)`,
      });
    }
  }
  return problems;
}

const describeRange = (from: number, to: number) => (from === to ? `version ${from} was` : `versions ${from}..${to} were`);

// ---------------------------------------------------------------------------------------
// One build

/**
 * One build's stream: its chain (from version 1, so a deleted first event shows), its head
 * against its `builds` row, and its rows in the builds, stages, steps and queue views
 * against the rows its events give, computed in memory up to where the live views stand.
 */
export async function verifyBuild(options: { database: Database; store: EventStore; streamId: string; manifest?: ManifestHeads; views?: boolean }): Promise<VerifyReport> {
  const { database, store, streamId } = options;
  const started = performance.now();
  const stored = await store.readStream(streamId);
  const problems = classifyStream(stored);
  const chain = { streams: stored.length > 0 ? 1 : 0, events: stored.length, problems };
  const buildId = streamId.replace(/^build-/, '');
  const walker = createChainWalker();
  walker.feed(inLogOrder(stored));
  const heads: HeadProblem[] = [];
  if (options.manifest?.has(streamId)) heads.push(...(await headsBelowManifest(database, walker, new Map([[streamId, options.manifest.get(streamId)!]]))));

  let views: ViewReport | null = null;
  if (options.views ?? true) {
    const live = await readLiveBuild(database, buildId);
    const row = live.rows.builds[0] as { version?: number } | undefined;
    const head = stored[stored.length - 1]?.streamVersion ?? 0;
    if (row?.version !== undefined && row.version > head) {
      heads.push({ kind: 'deleted', streamId, streamVersion: head + 1, detail: `the builds view saw version ${row.version}, the log ends at version ${head}: ${describeRange(head + 1, row.version)} deleted` });
    }
    views = compareBuildRows(stored, live);
  }
  const ok = chain.problems.length === 0 && heads.length === 0 && (views === null || (views.error === undefined && views.differences.length === 0));
  return { ok, scope: streamId, chains: { streams: chain.streams, events: chain.events, problems: chain.problems }, heads, views, elapsedMs: performance.now() - started };
}

interface LiveBuild {
  readonly checkpoints: Map<string, { transactionId: string; globalPosition: string } | null>;
  readonly rows: Record<(typeof perBuildTables)[number], Record<string, unknown>[]>;
}

/** The build's live rows and the views' checkpoints, from one snapshot. */
async function readLiveBuild(database: Database, buildId: string): Promise<LiveBuild> {
  return database.transaction(async (tx) => {
    // One snapshot for the checkpoints and every table (the projector moves them together).
    await tx.query(sql`set transaction isolation level repeatable read`);
    const projectionsOfBuild = allProjections.filter((p) => p.tables.some((t) => (perBuildTables as readonly string[]).includes(t)));
    const checkpoints = await readCheckpoints(tx, liveTarget, projectionsOfBuild);
    const rows = {
      builds: await tx.db.select().from(builds).where(eq(builds.id, buildId)),
      stages: await tx.db.select().from(stages).where(eq(stages.buildId, buildId)).orderBy(stages.number),
      steps: await tx.db.select().from(steps).where(eq(steps.buildId, buildId)).orderBy(steps.stage, steps.number),
      queue: await tx.db.select().from(queue).where(eq(queue.buildId, buildId)).orderBy(queue.stage),
    };
    return { checkpoints, rows };
  });
}

function compareBuildRows(stored: readonly StoredEvent[], live: LiveBuild): ViewReport {
  // The events the live views had applied when read: those at or before the builds projection's checkpoint.
  const at = live.checkpoints.get('builds') ?? null;
  const applied = stored.filter((event) => at !== null && compareCheckpoints(event, at) <= 0);
  let expected;
  try {
    expected = buildViewRows(applied.map(fromStored));
  } catch (error) {
    return { checkpoints: {}, tables: [], differences: [], error: `the build's views could not be computed: ${(error as Error).message}` };
  }
  const differences: RowDifference[] = [];
  const tables = perBuildTables.map((table) => {
    const meta = tableMeta[table];
    const keyOf = (row: Record<string, unknown>) => canonicalJson(meta.key.map((column) => row[column.prop]));
    // Both sides in the database's JSON shape (SQL column names, ISO times), for a fair comparison and a readable report.
    const asSql = (row: Record<string, unknown>) =>
      Object.fromEntries(meta.columns.map((column) => [column.sql, JSON.parse(JSON.stringify(row[column.prop] ?? null))]));
    const liveRows = new Map(live.rows[table].map((row) => [keyOf(row), asSql(row)]));
    const expectedRows = new Map((expected[table] as unknown as Record<string, unknown>[]).map((row) => [keyOf(row), asSql(row)]));
    let differing = 0;
    for (const key of new Set([...liveRows.keys(), ...expectedRows.keys()])) {
      const difference = rowDifference(meta.sqlName, meta.key.map((c) => c.sql), liveRows.get(key) ?? null, expectedRows.get(key) ?? null);
      if (difference.kind === 'differs' && difference.columns.length === 0) continue;
      differing += 1;
      differences.push(difference);
    }
    return { table: meta.sqlName, liveRows: liveRows.size, differing };
  });
  const checkpoints = Object.fromEntries([...live.checkpoints].map(([name, cp]) => [name, cp && `${cp.transactionId}:${cp.globalPosition}`]));
  return { checkpoints, tables, differences };
}
