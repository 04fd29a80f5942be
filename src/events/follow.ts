// The catch-up subscription behind EventStore.follow: read commit-safe batches, hand them to
// the consumer in order, then wait for a NOTIFY or the next poll, until the signal aborts.
//
// Why each stream's versions are checked (the trap): readers order the log by
// (transaction_id, global_position), and a transaction's xid is assigned at its FIRST WRITE,
// not at commit. If a transaction wrote something else first (xid 100), then another appended
// v1 of stream S (xid 101) and committed, and the first then read S and appended v2, the log
// order would be v2 (xid 100) before v1 (xid 101): nothing skipped, but S out of order, and
// a projection that applied v2 first would be silently wrong. appendToStream refuses to be
// anything but the first write of its transaction, which rules this out; this check is the
// second line of defence against whatever slips past it (a hand-written INSERT, a deleted
// event). On a gap we deliver the batch up to it, re-read, and never deliver out of order.
// Below the commit horizon the log is final, so a gap that persists will not close by
// itself: after `gapTimeoutMs` follow fails with StreamGapError, loudly, instead of waiting
// forever or guessing.
import type { Checkpoint } from './checkpoint.ts';
import { checkpointOf } from './checkpoint.ts';
import type { FollowOptions, StoredEvent } from './event-store.ts';
import { StreamGapError } from './event-store.ts';

/** What follow needs from a store. */
export interface FollowSource {
  readAll(after: Checkpoint | null, limit: number): Promise<StoredEvent[]>;
  /** Each stream's highest version at or before `checkpoint` (absent: none; null: the start). */
  versionsUpTo(streamIds: readonly string[], checkpoint: Checkpoint | null): Promise<Map<string, number>>;
  /** Calls `onWake` when new events may be there; resolves to a function that stops it. */
  listen(onWake: () => void): Promise<() => Promise<void>>;
}

/**
 * Versions remembered per stream. Bounded: a forgotten stream is looked up again
 * (`versionsUpTo` at the current checkpoint), which gives the same answer.
 */
const REMEMBERED_STREAMS = 10_000;

export async function follow(source: FollowSource, options: FollowOptions): Promise<void> {
  const { signal, onBatch } = options;
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const gapTimeoutMs = options.gapTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new TypeError(`follow: expected batchSize >= 1, got ${batchSize}`);
  if (!(pollIntervalMs > 0)) throw new TypeError(`follow: expected pollIntervalMs > 0, got ${pollIntervalMs}`);

  let cursor = options.after;
  const versions = new Map<string, number>();
  let gap: { globalPosition: string; since: number } | undefined;

  // A wake-up that arrives while we read must not be lost: it is remembered in `woken` and
  // checked before sleeping.
  let woken = false;
  let wake: (() => void) | undefined;
  const onWake = () => {
    woken = true;
    wake?.();
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      wake = done;
    });

  let unlisten: (() => Promise<void>) | undefined;
  try {
    unlisten = await source.listen(onWake);
  } catch {
    // No LISTEN (e.g. a pooler that does not forward it): polling alone still delivers.
  }
  try {
    while (!signal.aborted) {
      woken = false;
      const batch = await source.readAll(cursor, batchSize);
      if (signal.aborted) return;

      // Where each stream of the batch stands: remembered, or looked up at the cursor (every
      // event at or before it has been delivered, by us or before we started).
      const streamIds = [...new Set(batch.map((event) => event.streamId))];
      const unknown = streamIds.filter((id) => !versions.has(id));
      const found = unknown.length > 0 ? await source.versionsUpTo(unknown, cursor) : new Map<string, number>();
      const baseline = new Map(streamIds.map((id) => [id, versions.get(id) ?? found.get(id) ?? 0]));

      const { ready, latest, blocked } = inOrderPrefix(batch, baseline);
      if (ready.length > 0) {
        const checkpoint = checkpointOf(ready[ready.length - 1]!);
        await onBatch(ready, checkpoint);
        for (const [id, version] of latest) remember(versions, id, version);
        cursor = checkpoint;
        gap = undefined;
      }

      if (blocked) {
        if (gap?.globalPosition !== blocked.event.globalPosition) {
          gap = { globalPosition: blocked.event.globalPosition, since: Date.now() };
        } else if (Date.now() - gap.since >= gapTimeoutMs) {
          throw new StreamGapError(blocked.event.streamId, blocked.expected, blocked.event.streamVersion, blocked.event.globalPosition);
        }
        // Look the stream up afresh next time rather than trust what we remembered.
        versions.delete(blocked.event.streamId);
        await pause(pollIntervalMs);
        continue;
      }
      if (batch.length === batchSize) continue; // more is waiting: no sleep
      if (!woken) await pause(pollIntervalMs);
    }
  } finally {
    await unlisten?.().catch(() => {});
  }
}

/** The longest prefix of `batch` in which every stream continues at last + 1. */
function inOrderPrefix(batch: readonly StoredEvent[], baseline: ReadonlyMap<string, number>) {
  const latest = new Map<string, number>();
  for (let index = 0; index < batch.length; index += 1) {
    const event = batch[index]!;
    const last = latest.get(event.streamId) ?? baseline.get(event.streamId) ?? 0;
    if (event.streamVersion !== last + 1) {
      return { ready: batch.slice(0, index), latest, blocked: { event, expected: last + 1 } };
    }
    latest.set(event.streamId, event.streamVersion);
  }
  return { ready: batch, latest, blocked: undefined };
}

function remember(versions: Map<string, number>, streamId: string, version: number): void {
  // Re-inserting moves the stream to the end, so the oldest-touched is evicted first.
  versions.delete(streamId);
  versions.set(streamId, version);
  if (versions.size > REMEMBERED_STREAMS) versions.delete(versions.keys().next().value!);
}
