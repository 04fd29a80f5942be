// The catch-up runner: follows the log from the projections' stored checkpoints and applies
// each batch through the writer, checkpoint and rows in one transaction.
import { sql } from 'drizzle-orm';
import { compareCheckpoints, type Checkpoint } from '../events/checkpoint.ts';
import type { Database } from '../events/database.ts';
import type { EventStore } from '../events/event-store.ts';
import { events as eventsTable } from '../events/event-table.ts';
import { createEventFeed } from './event-feed.ts';
import type { Projection, ProjectedEvent } from './projection.ts';
import { CheckpointConflict, liveTarget, readCheckpoints, writeBatch, type ProjectionCursor, type ProjectionTarget } from './projection-writer.ts';

export interface ProjectorOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  /** Aborting it stops the projector once the batch in hand is written (or rolled back). */
  readonly signal: AbortSignal;
  /** Default: the live views. */
  readonly target?: ProjectionTarget;
  /** Most events per batch (one transaction); default 1000. */
  readonly batchSize?: number;
  /** Poll interval when no NOTIFY arrives; default 250 ms. */
  readonly pollIntervalMs?: number;
  /** Told about every failure the projector recovers from by starting over; default console.error. */
  readonly onError?: (error: unknown) => void;
  /** Told about each batch once it is committed (the dispatcher's wake-up: queue-hints.ts). Must not throw. */
  readonly onApplied?: (events: readonly ProjectedEvent[]) => void;
}

export interface Projector {
  /**
   * Resolves once every projection has applied the log up to `position`: a checkpoint (what
   * an append returns) or a bare global position (looked up in the log). For read-after-write:
   * append, then `await waitFor(checkpoint)`, then read the views. Rejects when `signal`
   * aborts or the projector stops first.
   */
  waitFor(position: Checkpoint | string, signal?: AbortSignal): Promise<void>;
  /** Where every projection has got to (null: not past the start yet). */
  readonly checkpoint: Checkpoint | null;
  /** The last error the projector recovered from, if any since it last applied a batch. */
  readonly lastError: unknown;
  /** Resolves once the projector has stopped after `signal` aborted. */
  readonly done: Promise<void>;
}

/** Why a waiter gave up. */
export class ProjectorStopped extends Error {
  override readonly name = 'ProjectorStopped';
}

/**
 * Starts following the log at once and returns. Lifecycle: runs until `signal` aborts; a
 * failed batch (database error, a checkpoint moved by another writer) is rolled back as a
 * whole, and the projector starts over from the stored checkpoints after a pause that grows
 * to 30 s while failures repeat. Concurrency: several projectors (replicas, a rebuild) may
 * run on one database; the checkpoints' compare-and-set makes each batch land exactly once,
 * so at worst they duplicate reading, never rows.
 */
export function startProjector(options: ProjectorOptions): Projector {
  const { database, store, projections, signal } = options;
  const target = options.target ?? liveTarget;
  const onError = options.onError ?? ((error: unknown) => console.error('runlog: projector:', error));
  const feed = createEventFeed({ readStream: (streamId, toVersion) => store.readStream(streamId, { toVersion }) });
  let applied: Checkpoint | null = null;
  let lastError: unknown;
  const waiters = new Set<{ until: Checkpoint; resolve: () => void; reject: (error: unknown) => void }>();

  const advance = (checkpoint: Checkpoint | null) => {
    if (checkpoint === null || compareCheckpoints(checkpoint, applied) <= 0) return;
    applied = checkpoint;
    for (const waiter of waiters) {
      if (compareCheckpoints(waiter.until, applied) <= 0) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  async function run(): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const stored = await readCheckpoints(database, target, projections);
        let cursors: ProjectionCursor[] = projections.map((projection) => ({ projection, after: stored.get(projection.name) ?? null }));
        const start = cursors.reduce<Checkpoint | null>(
          (lowest, cursor, i) => (i === 0 || compareCheckpoints(cursor.after, lowest) < 0 ? cursor.after : lowest),
          null,
        );
        advance(start);
        await store.follow({
          after: start,
          signal,
          batchSize: options.batchSize ?? 1000,
          ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
          onBatch: async (batch, checkpoint) => {
            const events = await feed.project(batch);
            await writeBatch(database, { target, cursors, events, checkpoint });
            cursors = cursors.map((cursor) => (compareCheckpoints(cursor.after, checkpoint) < 0 ? { ...cursor, after: checkpoint } : cursor));
            failures = 0;
            lastError = undefined;
            advance(checkpoint);
            options.onApplied?.(events);
          },
        });
      } catch (error) {
        if (signal.aborted) break;
        // Whatever the feed folded for a batch that did not commit must not be trusted.
        feed.clear();
        lastError = error;
        if (error instanceof CheckpointConflict) continue; // someone else moved ahead: re-read and go on
        failures += 1;
        onError(error);
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)), signal);
      }
    }
  }

  const done = run().finally(() => {
    for (const waiter of waiters) waiter.reject(new ProjectorStopped('the projector stopped before reaching the position'));
    waiters.clear();
  });

  return {
    async waitFor(position, waitSignal) {
      const until = typeof position === 'string' ? await checkpointAt(database, position) : position;
      if (compareCheckpoints(until, applied) <= 0) return;
      if (signal.aborted) throw new ProjectorStopped('the projector is stopped');
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          waiters.delete(waiter);
          reject(waitSignal?.reason ?? new ProjectorStopped('gave up waiting'));
        };
        const waiter = {
          until,
          resolve: () => {
            waitSignal?.removeEventListener('abort', onAbort);
            resolve();
          },
          reject: (error: unknown) => {
            waitSignal?.removeEventListener('abort', onAbort);
            reject(error);
          },
        };
        if (waitSignal?.aborted) return onAbort();
        waitSignal?.addEventListener('abort', onAbort, { once: true });
        waiters.add(waiter);
      });
    },
    get checkpoint() {
      return applied;
    },
    get lastError() {
      return lastError;
    },
    done,
  };
}

/** The checkpoint of the event at a global position; a position not (yet) in the log is an error. */
async function checkpointAt(database: Database, globalPosition: string): Promise<Checkpoint> {
  if (!/^[1-9][0-9]{0,18}$/.test(globalPosition)) throw new TypeError(`expected a global position (decimal digits), got ${JSON.stringify(globalPosition)}`);
  const [row] = await database.query<{ transaction_id: string }>(
    sql`select transaction_id::text as transaction_id from ${eventsTable} where global_position = ${globalPosition}::bigint`,
  );
  if (!row) throw new RangeError(`no event at global position ${globalPosition}`);
  return { transactionId: row.transaction_id, globalPosition };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
