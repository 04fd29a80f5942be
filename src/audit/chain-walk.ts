// Walking the whole log's hash chains in one pass, in log order, with memory per stream
// rather than per event (a million events do not fit a report in memory; fifty thousand
// stream heads do). Pure.
//
// The walk only has to tell intact streams from suspect ones: a stream is intact exactly
// when, in log order, its events are versions 1, 2, 3, ... each linking to the previous
// event's hash and matching its own. Any other stream is suspect, and is then re-read whole
// and classified by `verifyChain` (events/hash-chain.ts), which names each edited, deleted
// or reordered version — so there is one definition of what a problem is, not two.
import { compareCheckpoints, type Checkpoint } from '../events/checkpoint.ts';
import { eventHash, GENESIS_HASH, type ChainedEvent } from '../events/hash-chain.ts';

export interface WalkedEvent extends ChainedEvent, Checkpoint {}

export interface StreamHeadSeen {
  readonly version: number;
  readonly hash: string;
}

export interface ChainWalker {
  /** Feeds events in log order; events at or before the last one fed are skipped (overlapping reads are fine). */
  feed(events: readonly WalkedEvent[]): void;
  /** The last event fed: a read for the rest of the log starts after it. */
  readonly last: Checkpoint | null;
  readonly events: number;
  /** Streams seen. */
  readonly streams: number;
  /** Streams whose chain is not intact, in the order first noticed. */
  suspects(): string[];
  /** The last event seen of every stream. */
  heads(): ReadonlyMap<string, StreamHeadSeen>;
}

export function createChainWalker(): ChainWalker {
  const heads = new Map<string, { version: number; hash: string }>();
  const suspect = new Set<string>();
  let last: Checkpoint | null = null;
  let count = 0;
  return {
    feed(events) {
      for (const event of events) {
        if (last !== null && compareCheckpoints(event, last) <= 0) continue;
        last = { transactionId: event.transactionId, globalPosition: event.globalPosition };
        count += 1;
        const head = heads.get(event.streamId);
        const expectedVersion = (head?.version ?? 0) + 1;
        const expectedPrev = head?.hash ?? GENESIS_HASH;
        if (
          !suspect.has(event.streamId) &&
          (event.streamVersion !== expectedVersion || event.prevHash !== expectedPrev || eventHash(event.prevHash, event) !== event.hash)
        ) {
          suspect.add(event.streamId);
        }
        if (head) {
          if (event.streamVersion >= head.version) {
            head.version = event.streamVersion;
            head.hash = event.hash;
          }
        } else heads.set(event.streamId, { version: event.streamVersion, hash: event.hash });
      }
    },
    get last() {
      return last;
    },
    get events() {
      return count;
    },
    get streams() {
      return heads.size;
    },
    suspects: () => [...suspect],
    heads: () => heads,
  };
}

/** A stream's events in the order the log gives them: (transaction id, global position). */
export const inLogOrder = <E extends Checkpoint>(events: readonly E[]): E[] => [...events].sort(compareCheckpoints);
