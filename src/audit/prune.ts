// `runlog logs prune --older-than 90d`: retention for step output without losing the audit
// trail. Log chunks go; the events stay, and each finished step's `StepFinished` keeps the
// size and sha256 of the log it had, so the history still proves what ran (and a log kept
// elsewhere can still be checked against it).
//
// A step's log is pruned whole or not at all (a log missing its beginning would read as a
// different log), once its newest chunk is older than the cutoff. Logs whose size and sha256
// no event records (a step the server ended for a lost runner) are the only record of that
// output: they are kept unless `includeUnhashed` says otherwise.
import { sql } from 'drizzle-orm';
import type { Database } from '../events/database.ts';
import { logChunks } from '../logs/log-table.ts';
import { steps } from '../projections/tables.ts';

/** Reads `90d`, `12h`, `30m`, `2w` (also `90 days`); returns milliseconds or throws a TypeError saying what is accepted. */
export function parseAge(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(m|min|minutes?|h|hours?|d|days?|w|weeks?)\s*$/i.exec(text);
  if (!match) throw new TypeError(`expected an age like 90d, 12h, 30m or 2w, got ${JSON.stringify(text)}`);
  const n = Number(match[1]);
  const unit = match[2]!.toLowerCase()[0]!;
  const ms = n * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[unit as 'm' | 'h' | 'd' | 'w'];
  if (!(ms > 0)) throw new TypeError(`the age must be more than zero, got ${JSON.stringify(text)}`);
  return ms;
}

export interface PruneOptions {
  readonly database: Database;
  /** Logs whose newest chunk is older than this are pruned. */
  readonly before: Date;
  /** Also prune logs that no `StepFinished` hashed; default false. */
  readonly includeUnhashed?: boolean;
  /** Count only; delete nothing. */
  readonly dryRun?: boolean;
}

export interface PruneResult {
  /** Step logs removed (or that would be, on a dry run). */
  readonly logs: number;
  readonly chunks: number;
  readonly bytes: number;
  /** Old step logs kept because no event records their size and sha256. */
  readonly keptUnhashed: number;
}

export async function pruneLogs(options: PruneOptions): Promise<PruneResult> {
  const before = options.before.toISOString();
  return options.database.transaction(async (tx) => {
    // Old logs, each with whether an event (through the steps view) holds its sha256.
    const old = sql`
      select c.build_id, c.stage, c.step, count(*) as chunks, sum(c.size) as bytes,
             bool_or(s.log_sha256 is not null) as hashed
      from ${logChunks} c
      left join ${steps} s on s.build_id = c.build_id and s.stage = c.stage and s.number = c.step
      group by c.build_id, c.stage, c.step
      having max(c.created) < ${before}::timestamptz`;
    const [counted] = await tx.query<{ logs: string | number; chunks: string | number | null; bytes: string | number | null; unhashed: string | number }>(sql`
      select count(*) filter (where hashed or ${options.includeUnhashed ?? false}) as logs,
             sum(chunks) filter (where hashed or ${options.includeUnhashed ?? false}) as chunks,
             sum(bytes) filter (where hashed or ${options.includeUnhashed ?? false}) as bytes,
             count(*) filter (where not hashed) as unhashed
      from (${old}) o`);
    const result: PruneResult = {
      logs: Number(counted?.logs ?? 0),
      chunks: Number(counted?.chunks ?? 0),
      bytes: Number(counted?.bytes ?? 0),
      keptUnhashed: options.includeUnhashed ? 0 : Number(counted?.unhashed ?? 0),
    };
    if (options.dryRun || result.logs === 0) return result;
    await tx.query(sql`
      delete from ${logChunks} c using (${old}) o
      where c.build_id = o.build_id and c.stage = o.stage and c.step = o.step and (o.hashed or ${options.includeUnhashed ?? false})`);
    return result;
  });
}
