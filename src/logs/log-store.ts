import { and, asc, desc, eq, gt } from 'drizzle-orm';
import type { BuildEvent } from '../events/build-events.ts';
import type { Executor } from '../events/database.ts';
import { logChunks } from './log-table.ts';

export type StepRef = { buildId: string; stage: number; step: number };
export type StoredChunk = { offset: number; data: string; created: Date };

const encoder = new TextEncoder();
const where = (ref: StepRef) => and(eq(logChunks.buildId, ref.buildId), eq(logChunks.stage, ref.stage), eq(logChunks.step, ref.step));

/** Thrown when a chunk would leave a hole in the log; the sender must resend from `expected`. */
export class LogGap extends Error {
  override readonly name = 'LogGap';
  readonly status = 409;
  constructor(
    readonly expected: number,
    readonly got: number,
  ) {
    super(`log chunk at offset ${got}, but the stored log ends at ${expected}: resend from ${expected}`);
  }
}

/** Bytes stored so far for a step. */
export async function storedSize(db: Executor, ref: StepRef): Promise<number> {
  const [last] = await db.db
    .select({ offset: logChunks.offset, size: logChunks.size })
    .from(logChunks)
    .where(where(ref))
    .orderBy(desc(logChunks.offset))
    .limit(1);
  return last ? Number(last.offset) + last.size : 0;
}

/**
 * Appends a chunk at its byte offset. Idempotent: a resend of what is stored is dropped
 * (runners resend after a timeout); a chunk past the end is refused with `LogGap`.
 * The primary key on the offset keeps two concurrent senders from both landing.
 */
export async function appendChunk(db: Executor, ref: StepRef, chunk: { offset: number; data: string }): Promise<'stored' | 'duplicate'> {
  const size = encoder.encode(chunk.data).length;
  const end = await storedSize(db, ref);
  if (chunk.offset + size <= end) return 'duplicate';
  if (chunk.offset !== end) throw new LogGap(end, chunk.offset);
  const inserted = await db.db
    .insert(logChunks)
    .values({ ...ref, offset: chunk.offset, size, data: chunk.data })
    .onConflictDoNothing()
    .returning({ offset: logChunks.offset });
  return inserted.length > 0 ? 'stored' : 'duplicate';
}

/** A step starts again (a retry, a requeued stage): its log begins anew. */
export async function clearStepLog(db: Executor, ref: StepRef): Promise<void> {
  await db.db.delete(logChunks).where(where(ref));
}

/**
 * After a command: each step it started *again* (a retry, a requeued stage) writes its log
 * anew from offset 0, so what an earlier attempt stored goes. A first start has nothing
 * stored, so it costs no query (it is on the path from a queued build to its first step).
 * `stream` is the build's whole stream, `appended` included.
 */
export async function clearRestartedStepLogs(db: Executor, buildId: string, appended: readonly BuildEvent[], stream: readonly BuildEvent[]): Promise<void> {
  for (const event of appended) {
    if (event.type !== 'StepStarted') continue;
    const { stage, step } = event.data;
    const starts = stream.filter((e) => e.type === 'StepStarted' && e.data.stage === stage && e.data.step === step).length;
    if (starts > 1) await clearStepLog(db, { buildId, stage, step });
  }
}

export async function readStepLog(db: Executor, ref: StepRef, afterOffset = -1): Promise<StoredChunk[]> {
  const rows = await db.db
    .select({ offset: logChunks.offset, data: logChunks.data, created: logChunks.created })
    .from(logChunks)
    .where(and(where(ref), gt(logChunks.offset, afterOffset)))
    .orderBy(asc(logChunks.offset));
  return rows.map((row) => ({ ...row, offset: Number(row.offset) }));
}
