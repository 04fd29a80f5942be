import { and, asc, count, eq, inArray, isNotNull } from 'drizzle-orm';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Executor } from '../events/database.ts';
import { queue as queueView, stages } from '../projections/tables.ts';
import { readQueueState } from './queue-control.ts';
import { messageId, type StageOffer, type StageQueue } from './stage-queue.ts';

type QueueRow = typeof queueView.$inferSelect;

export const offerOf = (row: QueueRow): StageOffer => ({
  buildId: row.buildId,
  stage: row.stage,
  attempt: row.attempt,
  repoId: row.repoId,
  platform: { os: row.os, arch: row.arch, variant: row.variant, kernel: row.kernel },
  labels: row.labels,
  type: row.type as StageOffer['type'],
});

/**
 * How many more stages of this pipeline name may start in the repo: Drone's
 * `concurrency.limit` counts the repo's stages of the same name that hold a runner.
 */
async function concurrencyRoom(db: Executor, row: QueueRow): Promise<number> {
  if (row.concurrencyLimit === null) return Number.POSITIVE_INFINITY;
  const [busy] = await db.db
    .select({ n: count() })
    .from(stages)
    .where(and(eq(stages.repoId, row.repoId), eq(stages.name, row.name), isNotNull(stages.runnerId), inArray(stages.status, ['pending', 'running'])));
  return row.concurrencyLimit - Number(busy?.n ?? 0);
}

/**
 * The dispatcher: publishes every stage of the `queue` view — queued, ready, unclaimed —
 * once per attempt. The view already leaves out what must wait (dependencies, blocked
 * builds); the repo's concurrency limit is checked here. Publishing is idempotent per
 * attempt (the queue's message id), so a restart simply publishes the view again.
 * Oldest first, so no stage waits behind newer ones of its pool. While the queue is paused
 * (queue-control.ts, an event) it publishes nothing; on resume it goes on from the view.
 */
export async function runDispatcher(options: { database: Executor; queue: StageQueue; signal: AbortSignal; pollMs?: number; log?: (message: string) => void }) {
  const { database, queue, signal } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const published = new Set<string>();
  let paused = false;
  while (!signal.aborted) {
    try {
      const control = await readQueueState(database);
      if (control.paused !== paused) log(control.paused ? `runlog dispatcher: queue paused by ${control.by} at ${control.at}` : 'runlog dispatcher: queue resumed');
      paused = control.paused;
      const rows = paused ? [] : await database.db.select().from(queueView).orderBy(asc(queueView.queuedAt)).limit(1000);
      const waiting = new Set<string>();
      const room = new Map<string, number>();
      for (const row of rows) {
        const offer = offerOf(row);
        const id = messageId(offer);
        waiting.add(id);
        if (published.has(id)) continue;
        if (row.concurrencyLimit !== null) {
          const key = `${row.repoId}\u0000${row.name}`;
          const left = room.get(key) ?? (await concurrencyRoom(database, row));
          if (left <= 0) continue;
          room.set(key, left - 1);
        }
        await queue.publish(offer);
        published.add(id);
      }
      // Forget what left the view (claimed, cancelled): a later attempt has another id.
      if (!paused) for (const id of published) if (!waiting.has(id)) published.delete(id);
    } catch (error) {
      if (!signal.aborted) log(`runlog dispatcher: ${error instanceof Error ? error.message : String(error)}; retrying`);
    }
    await sleep(options.pollMs ?? 100, undefined, { signal }).catch(() => {});
  }
}
