// Walking the whole log's hash chains in one pass, in log order, with memory per stream
// rather than per event (a million events do not fit a report in memory; fifty thousand
// stream heads do). Pure.
//
// The walk only has to tell intact streams from suspect ones: a stream is intact exactly
// when, in log order, its events are versions 1, 2, 3, ... at increasing global positions,
// each linking to the previous event's hash and matching its own. Any other stream is
// suspect, and is then re-read whole and classified by `verifyChain` (events/hash-chain.ts),
// which names each edited, deleted or reordered version — so there is one definition of
// what a problem is, not two. (Positions count as order too: a stream's appends are
// serialised, so its positions rise with its versions, and the timeline shows them.)
import { compareCheckpoints, type Checkpoint } from '../events/checkpoint.ts';
import { eventHash, GENESIS_HASH, verifyChain, type ChainedEvent, type ChainProblem } from '../events/hash-chain.ts';

export interface WalkedEvent extends ChainedEvent, Checkpoint {}

export interface StreamHeadSeen {
  readonly version: number;
  readonly hash: string;
}

/** Decimal strings without leading zeros compare by length, then text: no BigInt per event. */
const positionBefore = (a: string, b: string) => a.length < b.length || (a.length === b.length && a < b);

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
  const heads = new Map<string, { version: number; hash: string; position: string }>();
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
          (event.streamVersion !== expectedVersion ||
            event.prevHash !== expectedPrev ||
            (head !== undefined && !positionBefore(head.position, event.globalPosition)) ||
            eventHash(event.prevHash, event) !== event.hash)
        ) {
          suspect.add(event.streamId);
        }
        if (head) {
          if (event.streamVersion >= head.version) {
            head.version = event.streamVersion;
            head.hash = event.hash;
          }
          if (positionBefore(head.position, event.globalPosition)) head.position = event.globalPosition;
        } else heads.set(event.streamId, { version: event.streamVersion, hash: event.hash, position: event.globalPosition });
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

/**
 * Names every problem of one stream's events: `verifyChain` in the log's order, and again in
 * global-position order for events moved to other positions within one order but not the
 * other (positions swapped between transactions, say). One problem per kind and version.
 */
export function classifyStream(events: readonly WalkedEvent[]): ChainProblem[] {
  const byLog = verifyChain(inLogOrder(events)).problems;
  const byPosition = verifyChain([...events].sort((a, b) => (a.globalPosition === b.globalPosition ? 0 : positionBefore(a.globalPosition, b.globalPosition) ? -1 : 1))).problems;
  const found = new Map<string, ChainProblem>();
  for (const problem of [...byLog, ...byPosition]) {
    const key = `${problem.kind}:${problem.streamVersion}`;
    if (!found.has(key)) found.set(key, problem.kind === 'reordered' && !byLog.includes(problem) ? { ...problem, detail: `${problem.detail} (by global position)` } : problem);
  }
  return [...found.values()].sort((a, b) => a.streamVersion - b.streamVersion);
}
