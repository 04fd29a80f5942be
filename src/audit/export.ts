// `runlog export`: the log (or a repo's part, or the streams begun in a time range) as an
// export file (export-format.ts). Everything is read in ONE repeatable-read transaction, so
// the file is one consistent moment of the log even while a server appends: every stream in
// it is whole up to its head in the manifest. (The price: the transaction holds the commit
// horizon back while it runs, so followers of the log wait for the export, they lose nothing.)
import { sql } from 'drizzle-orm';
import type { Database, Executor } from '../events/database.ts';
import { events as eventsTable } from '../events/event-table.ts';
import { logChunks } from '../logs/log-table.ts';
import { endLine, eventLine, headerLine, headLine, logLine, type ExportEnd, type ExportSelection } from './export-format.ts';

export interface ExportOptions {
  readonly database: Database;
  readonly selection?: ExportSelection;
  /** Include the selected builds' log chunks; default false (the events keep each log's size and sha256). */
  readonly logs?: boolean;
  /** Called with text to write, in order; the export waits for each call. */
  readonly write: (text: string) => Promise<void> | void;
  readonly batchSize?: number;
  readonly onProgress?: (progress: { events: number; total: number }) => void;
}

/** Microseconds, UTC: what timestamptz holds, so an import stores exactly the same instant. */
const utc = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

export async function exportLog(options: ExportOptions): Promise<ExportEnd> {
  const selection = compact(options.selection ?? {});
  const batchSize = options.batchSize ?? 5000;
  const out = bufferedWriter(options.write);
  return options.database.transaction(async (tx) => {
    await tx.query(sql`set transaction isolation level repeatable read, read only`);
    const streams = await selectStreams(tx, selection);
    const only = streams === undefined ? sql`true` : sql`stream_id in (select jsonb_array_elements_text(${JSON.stringify(streams)}::jsonb))`;
    const [{ total } = { total: 0 }] = await tx.query<{ total: string | number }>(sql`select count(*) as total from ${eventsTable} where ${only}`);

    await out.line(headerLine(selection));
    const heads = new Map<string, { version: number; hash: string }>();
    let count = 0;
    let after: { tx: string; position: string } | null = null;
    for (;;) {
      const rows: Array<{
        tx: string;
        position: string;
        stream_id: string;
        stream_version: number;
        type: string;
        data: unknown;
        metadata: unknown;
        recorded_at: string;
        prev_hash: string;
        hash: string;
      }> = await tx.query(sql`
        select transaction_id::text as tx, global_position::text as position, stream_id, stream_version, type, data, metadata,
               ${utc('recorded_at')} as recorded_at, prev_hash, hash
        from ${eventsTable}
        where ${only} ${after === null ? sql`` : sql`and (transaction_id, global_position) > (${after.tx}::xid8, ${after.position}::bigint)`}
        order by transaction_id, global_position
        limit ${batchSize}`);
      for (const row of rows) {
        await out.line(
          eventLine({
            position: row.position,
            stream: row.stream_id,
            version: row.stream_version,
            type: row.type,
            recordedAt: row.recorded_at,
            // Both drivers parse jsonb; canonical JSON then gives the bytes the hash covers.
            data: row.data,
            metadata: row.metadata as Record<string, unknown>,
            prevHash: row.prev_hash,
            hash: row.hash,
          }),
        );
        const head = heads.get(row.stream_id);
        if (!head || row.stream_version > head.version) heads.set(row.stream_id, { version: row.stream_version, hash: row.hash });
      }
      count += rows.length;
      options.onProgress?.({ events: count, total: Number(total) });
      if (rows.length < batchSize) break;
      const last = rows[rows.length - 1]!;
      after = { tx: last.tx, position: last.position };
    }

    let logs = 0;
    if (options.logs) {
      const builds = streams === undefined ? undefined : streams.filter((s) => s.startsWith('build-')).map((s) => s.slice('build-'.length));
      logs = await exportLogs(tx, builds, batchSize, out.line);
    }
    // The manifest, by stream id (a stable order whatever the log order was).
    const ids = [...heads.keys()].sort();
    for (const stream of ids) await out.line(headLine({ stream, ...heads.get(stream)! }));
    const end = { events: count, streams: ids.length, logs };
    await out.line(endLine(end));
    await out.flush();
    return end;
  });
}

async function exportLogs(tx: Executor, builds: string[] | undefined, batchSize: number, line: (text: string) => Promise<void>): Promise<number> {
  const only = builds === undefined ? sql`true` : sql`build_id::text in (select jsonb_array_elements_text(${JSON.stringify(builds)}::jsonb))`;
  let after: { build: string; stage: number; step: number; offset: number } | null = null;
  let count = 0;
  for (;;) {
    const rows: Array<{ build: string; stage: number; step: number; offset: string | number; size: number; created: string; data: string }> = await tx.query(sql`
      select build_id::text as build, stage, step, "offset", size, ${utc('created')} as created, data
      from ${logChunks}
      where ${only} ${after === null ? sql`` : sql`and (build_id, stage, step, "offset") > (${after.build}::uuid, ${after.stage}, ${after.step}, ${after.offset}::bigint)`}
      order by build_id, stage, step, "offset"
      limit ${batchSize}`);
    for (const row of rows) await line(logLine({ ...row, offset: Number(row.offset) }));
    count += rows.length;
    if (rows.length < batchSize) return count;
    const last = rows[rows.length - 1]!;
    after = { build: last.build, stage: last.stage, step: last.step, offset: Number(last.offset) };
  }
}

/**
 * The streams a selection takes, or undefined for the whole log. Whole streams only, so
 * every chain in the file starts at version 1 and an import of it verifies:
 * - `repo`: the repo's own stream and the streams of its builds;
 * - `since`/`until`: streams whose first event was recorded in [since, until), with the
 *   streams of the repos their builds belong to (a build's views need its repo).
 */
async function selectStreams(tx: Executor, selection: ExportSelection): Promise<string[] | undefined> {
  if (!selection.repo && !selection.since && !selection.until) return undefined;
  const firsts = await tx.query<{ stream_id: string; type: string; repo_id: string | null; owner: string | null; name: string | null; repo: string | null; recorded_at: string }>(sql`
    select stream_id, type, data->>'repoId' as repo_id, data->>'owner' as owner, data->>'name' as name, data->>'repo' as repo,
           ${utc('recorded_at')} as recorded_at
    from ${eventsTable} where stream_version = 1`);
  let repoIds: Set<string> | undefined;
  if (selection.repo) {
    const [owner, name] = selection.repo.split('/');
    repoIds = new Set(
      firsts
        .filter((row) => (row.type === 'RepoActivated' && row.owner === owner && row.name === name) || (row.type === 'BuildCreated' && row.repo === selection.repo))
        .map((row) => row.repo_id)
        .filter((id): id is string => id !== null),
    );
  }
  const since = selection.since ? Date.parse(selection.since) : -Infinity;
  const until = selection.until ? Date.parse(selection.until) : Infinity;
  const existing = new Set(firsts.map((row) => row.stream_id));
  const chosen = new Set<string>();
  for (const row of firsts) {
    const at = Date.parse(row.recorded_at);
    if (at < since || at >= until) continue;
    if (repoIds && !(row.repo_id !== null && repoIds.has(row.repo_id) && (row.type === 'BuildCreated' || row.stream_id === `repo-${row.repo_id}`))) continue;
    chosen.add(row.stream_id);
    if (row.type === 'BuildCreated' && row.repo_id !== null && existing.has(`repo-${row.repo_id}`)) chosen.add(`repo-${row.repo_id}`);
  }
  for (const id of repoIds ?? []) if (existing.has(`repo-${id}`)) chosen.add(`repo-${id}`);
  return [...chosen].sort();
}

const compact = (selection: ExportSelection): ExportSelection =>
  Object.fromEntries(Object.entries(selection).filter(([, value]) => value !== undefined && value !== '')) as ExportSelection;

/** Joins lines into ~1 MiB writes: one write per line would dominate a big export. */
function bufferedWriter(write: (text: string) => Promise<void> | void) {
  let buffer = '';
  return {
    async line(text: string) {
      buffer += `${text}\n`;
      if (buffer.length >= 1 << 20) {
        const chunk = buffer;
        buffer = '';
        await write(chunk);
      }
    },
    async flush() {
      if (buffer) await write(buffer);
      buffer = '';
    },
  };
}
