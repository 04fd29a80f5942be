import { and, asc, count, eq, gt, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../events/database.ts';
import { queue as queueView, stages } from '../projections/tables.ts';
import { readQueueState } from './queue-control.ts';
import type { QueueRow } from '../projections/queue-projection.ts';
import type { EarlyOffers } from './early-offers.ts';
import { createQueueHints, type QueueHints, type StageKey } from './queue-hints.ts';
import { messageId, type StageOffer, type StageQueue } from './stage-queue.ts';


export const offerOf = (row: QueueRow): StageOffer => ({
  buildId: row.buildId,
  stage: row.stage,
  attempt: row.attempt,
  repoId: row.repoId,
  platform: { os: row.os, arch: row.arch, variant: row.variant, kernel: row.kernel },
  labels: row.labels,
  type: row.type as StageOffer['type'],
  ...(row.routeRunner ? { route: { runner: row.routeRunner } } : {}),
});

/**
 * How many more stages of this pipeline name may start in the repo: Drone's
 * `concurrency.limit` counts the repo's stages of the same name that hold a runner. Offers
 * already out (`isOut`) and not yet claimed hold a place too, or every pass would offer one
 * more until a runner claims the first. A claim moves a stage off the queue view and onto a
 * runner in the same projection batch, so no stage is counted twice.
 */
async function concurrencyRoom(db: Executor, row: QueueRow, isOut: (id: string) => boolean): Promise<number> {
  if (row.concurrencyLimit === null) return Number.POSITIVE_INFINITY;
  const sameName = (table: typeof stages | typeof queueView) => and(eq(table.repoId, row.repoId), eq(table.name, row.name));
  const [busy] = await db.db
    .select({ n: count() })
    .from(stages)
    .where(and(sameName(stages), isNotNull(stages.runnerId), inArray(stages.status, ['pending', 'running'])));
  const waiting = await db.db.select({ buildId: queueView.buildId, stage: queueView.stage, attempt: queueView.attempt }).from(queueView).where(sameName(queueView));
  const out = waiting.filter((other) => (other.buildId !== row.buildId || other.stage !== row.stage) && isOut(messageId(other))).length;
  return row.concurrencyLimit - Number(busy?.n ?? 0) - out;
}

const PAGE = 1000;
/** Rows of a pass between two looks at the stages queued meanwhile. */
const FRESH_EVERY = 50;

export type DispatcherOptions = {
  database: Executor;
  queue: StageQueue;
  signal: AbortSignal;
  /** Stages the projector of this process just queued: published at once (see queue-hints.ts). */
  hints?: QueueHints;
  /**
   * Stages read from the log as soon as they are queued, published before the projector
   * has them on the view (early-offers.ts). Those with a concurrency limit still wait for
   * the view: the limit is counted on the `stages` view, which must have caught up.
   */
  early?: EarlyOffers;
  /** How often the whole view is gone over (default 1 s; 100 ms without hints). */
  pollMs?: number;
  /**
   * A stage still waiting this long after its offer was published is published again
   * (default 60 s): within the queue's duplicate window (2 minutes) that stores nothing,
   * but it restores an offer a NATS server lost in a crash.
   */
  republishAfterMs?: number;
  log?: (message: string) => void;
  /**
   * A routed offer (a restart, for the runner keeping its workspace) not claimed within
   * `routeWaitMs` (default 30 s) is handed to `requeue`, which queues the stage again as a
   * new attempt for the whole pool (`RequeueStage`). Without `requeue` it waits for its runner.
   */
  requeue?: (offer: StageOffer, reason: string) => Promise<void>;
  routeWaitMs?: number;
};

/**
 * The dispatcher: publishes every stage of the `queue` view — queued, ready, unclaimed —
 * once per attempt. The view already leaves out what must wait (dependencies, blocked
 * builds); the repo's concurrency limit is checked here. Publishing is idempotent per
 * attempt (the queue's message id), so a restart simply publishes the view again.
 *
 * Two ways a row is found. The hinted stages (this process's projector just queued them)
 * are read by key and published at once: the cost of dispatching a stage does not grow
 * with the stages already waiting (for labels no runner has, say). And a pass over the
 * whole view, oldest first in pages, every `pollMs`: it finds what another replica
 * queued, what a concurrency limit held back, and what is due for a republish.
 * While the queue is paused (queue-control.ts, an event) it publishes nothing; on resume
 * it goes on from the view.
 */
export async function runDispatcher(options: DispatcherOptions): Promise<void> {
  const { database, queue, signal } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const hints = options.hints ?? createQueueHints();
  const pollMs = options.pollMs ?? (options.hints ? 1000 : 100);
  const republishAfterMs = options.republishAfterMs ?? 60_000;
  const routeWaitMs = options.routeWaitMs ?? 30_000;
  /** Message id → when it was published. */
  const published = new Map<string, number>();
  /** Per pass: concurrency room left per repo and pipeline name. */
  let room = new Map<string, number>();

  async function offer(row: QueueRow, seen?: Set<string>): Promise<void> {
    const next = offerOf(row);
    const id = messageId(next);
    seen?.add(id);
    const at = published.get(id);
    if (at !== undefined && next.route && options.requeue) {
      // Routed and still not taken: hand it to any runner of its pool (a new attempt).
      if (Date.now() - at < routeWaitMs) return;
      published.set(id, Number.POSITIVE_INFINITY);
      const reason = `runner ${next.route.runner} did not take it within ${Math.round(routeWaitMs / 1000)}s; queued for any runner`;
      await options.requeue(next, reason).catch((error: unknown) => {
        published.set(id, Date.now());
        log(`runlog dispatcher: requeue of ${id} failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      return;
    }
    if (at !== undefined && Date.now() - at < republishAfterMs) return;
    if (row.concurrencyLimit !== null) {
      const key = `${row.repoId}\u0000${row.name}`;
      const left = room.get(key) ?? (await concurrencyRoom(database, row, (id) => published.has(id)));
      if (left <= 0) return;
      room.set(key, left - 1);
    }
    await queue.publish(next);
    published.set(id, Date.now());
  }

  async function publishHinted(keys: StageKey[]): Promise<void> {
    for (let from = 0; from < keys.length; from += PAGE) {
      const page = keys.slice(from, from + PAGE);
      const rows = await database.db
        .select()
        .from(queueView)
        .where(or(...page.map((key) => and(eq(queueView.buildId, key.buildId), eq(queueView.stage, key.stage)))))
        .orderBy(asc(queueView.queuedAt));
      for (const row of rows) await offer(row);
    }
  }

  /** Stages queued since the last look: from the log (early offers) and this process's projector (hints). */
  async function publishFresh(): Promise<void> {
    const hinted = hints.take();
    if (options.early) for (const row of await options.early.take()) if (row.concurrencyLimit === null) await offer(row);
    if (hinted.length > 0) await publishHinted(hinted);
  }

  async function pass(): Promise<void> {
    const seen = new Set<string>();
    room = new Map();
    let after: { queuedAt: Date; buildId: string; stage: number } | undefined;
    for (;;) {
      const rows = await database.db
        .select()
        .from(queueView)
        .where(after ? sql`(${queueView.queuedAt}, ${queueView.buildId}, ${queueView.stage}) > (${after.queuedAt.toISOString()}::timestamptz, ${after.buildId}::uuid, ${after.stage})` : undefined)
        .orderBy(asc(queueView.queuedAt), asc(queueView.buildId), asc(queueView.stage))
        .limit(PAGE);
      for (const [index, row] of rows.entries()) {
        await offer(row, seen);
        // A long pass (thousands waiting, a republish round) must not hold back a stage just queued.
        if (index % FRESH_EVERY === FRESH_EVERY - 1) await publishFresh();
      }
      if (rows.length < PAGE || signal.aborted) break;
      const last = rows.at(-1)!;
      after = { queuedAt: last.queuedAt, buildId: last.buildId, stage: last.stage };
    }
    // Forget what left the view (claimed, cancelled): a later attempt has another id.
    if (!signal.aborted) for (const id of published.keys()) if (!seen.has(id)) published.delete(id);
  }

  let lastPass = Number.NEGATIVE_INFINITY;
  let paused = false;
  // Every append may have queued a stage: look at once (early-offers.ts).
  const unwatch = await options.early?.watch(() => hints.wakeUp()).catch((error: unknown) => {
    log(`runlog dispatcher: cannot follow the log for new stages (${error instanceof Error ? error.message : String(error)}); publishing from the queue view only`);
    return undefined;
  });
  try {
    while (!signal.aborted) {
      try {
        const control = await readQueueState(database);
        if (control.paused !== paused) log(control.paused ? `runlog dispatcher: queue paused by ${control.by} at ${control.at}` : 'runlog dispatcher: queue resumed');
        paused = control.paused;
        if (paused) {
          // What is hinted meanwhile is found by the first pass after the resume.
          hints.take();
          lastPass = Number.NEGATIVE_INFINITY;
          await hints.wait(pollMs, signal);
          continue;
        }
        room = new Map();
        await publishFresh();
        if (performance.now() - lastPass >= pollMs) {
          await pass();
          lastPass = performance.now();
        }
      } catch (error) {
        if (!signal.aborted) log(`runlog dispatcher: ${error instanceof Error ? error.message : String(error)}; retrying`);
        lastPass = Number.NEGATIVE_INFINITY;
        await hints.wait(Math.min(pollMs, 1000), signal);
        continue;
      }
      await hints.wait(Math.max(0, pollMs - (performance.now() - lastPass)), signal);
    }
  } finally {
    await unwatch?.().catch(() => {});
  }
}
