// The last known head (version and hash) of recently used streams, so that an append can
// chain its first event without reading the head first. Only a hint: every append checks in
// its INSERT that the stream's head is still exactly this one (see append-alone.ts), so a
// stale entry costs a round trip, never a wrong event.
import type { StreamHead } from './event-store.ts';

export interface HeadCache {
  get(streamId: string): StreamHead | undefined;
  /**
   * Remembers a head that was read or written. A stream only grows, so a head older than the
   * one already known (a read that raced an append) changes nothing.
   */
  remember(streamId: string, head: StreamHead): void;
  /** Drops what is known of the stream: it turned out to be wrong. */
  forget(streamId: string): void;
}

/**
 * A least-recently-used map of at most `capacity` heads. Command handling reads a stream and
 * appends to it right away, so a few thousand entries cover every build in flight; the
 * oldest are dropped first.
 */
export function createHeadCache(capacity = 4096): HeadCache {
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new TypeError(`head cache: expected a capacity >= 1, got ${capacity}`);
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  const heads = new Map<string, StreamHead>();
  return {
    get(streamId) {
      const head = heads.get(streamId);
      if (head !== undefined) {
        heads.delete(streamId);
        heads.set(streamId, head);
      }
      return head;
    },
    remember(streamId, head) {
      const known = heads.get(streamId);
      if (known !== undefined && known.streamVersion > head.streamVersion) return;
      heads.delete(streamId);
      heads.set(streamId, { streamVersion: head.streamVersion, hash: head.hash });
      if (heads.size > capacity) heads.delete(heads.keys().next().value!);
    },
    forget(streamId) {
      heads.delete(streamId);
    },
  };
}
