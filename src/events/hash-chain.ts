// The per-stream hash chain that makes the log tamper-evident: each event's hash covers the
// previous event's hash and its own canonical content, so editing, deleting or moving an event
// breaks the chain at that point. (Rewriting a stream's whole tail, hashes and all, is not
// detectable from the chain alone; anchor stream heads elsewhere if that matters.)
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/** The prevHash of a stream's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** What a hash covers: the event's identity and content, not where or when it was stored. */
export interface HashedContent {
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
}

export interface ChainedEvent extends HashedContent {
  readonly prevHash: string;
  readonly hash: string;
}

/** sha256(prevHash + canonicalJson({streamId, streamVersion, type, data, metadata})), lowercase hex. */
export function eventHash(prevHash: string, event: HashedContent): string {
  const { streamId, streamVersion, type, data, metadata } = event;
  return createHash('sha256')
    .update(prevHash + canonicalJson({ streamId, streamVersion, type, data, metadata }))
    .digest('hex');
}

export type ChainProblemKind = 'edited' | 'deleted' | 'reordered';

export interface ChainProblem {
  readonly kind: ChainProblemKind;
  readonly streamId: string;
  /** Where the problem shows: the edited or moved event's version, or the missing version. */
  readonly streamVersion: number;
  readonly detail: string;
}

export interface ChainReport {
  readonly ok: boolean;
  readonly streams: number;
  readonly events: number;
  readonly problems: readonly ChainProblem[];
}

/**
 * Checks the hash chain of every stream in `events` and reports, per stream and version:
 * - `edited`: an event's content no longer matches its hash, or its hash was recomputed so
 *   that the next event no longer links to it;
 * - `deleted`: a version is missing between two present ones (or before the first present);
 * - `reordered`: an event comes after a higher version of its stream in the order given (pass
 *   events in log order to check it), or it sits at a version other than the one it was
 *   written at.
 * Pure: pass a whole stream (or several, interleaved); a deleted *last* event cannot be seen
 * from the events alone — compare with a head kept elsewhere for that.
 */
export function verifyChain(events: Iterable<ChainedEvent>): ChainReport {
  const byStream = new Map<string, ChainedEvent[]>();
  let count = 0;
  for (const event of events) {
    count += 1;
    const list = byStream.get(event.streamId);
    if (list) list.push(event);
    else byStream.set(event.streamId, [event]);
  }
  const problems: ChainProblem[] = [];
  for (const [streamId, inGivenOrder] of byStream) problems.push(...verifyStream(streamId, inGivenOrder));
  return { ok: problems.length === 0, streams: byStream.size, events: count, problems };
}

function verifyStream(streamId: string, inGivenOrder: readonly ChainedEvent[]): ChainProblem[] {
  // One problem per kind and version, however many checks see it; details are joined.
  const found = new Map<string, ChainProblem>();
  const problem = (kind: ChainProblemKind, streamVersion: number, detail: string) => {
    const key = `${kind}:${streamVersion}`;
    const seen = found.get(key);
    found.set(key, { kind, streamId, streamVersion, detail: seen ? `${seen.detail}; ${detail}` : detail });
  };

  let highest = 0;
  for (const event of inGivenOrder) {
    if (event.streamVersion <= highest) {
      problem('reordered', event.streamVersion, `comes after version ${highest} in the order given`);
    }
    highest = Math.max(highest, event.streamVersion);
  }

  const sorted = [...inGivenOrder].sort((a, b) => a.streamVersion - b.streamVersion);
  const versions = new Set(sorted.map((event) => event.streamVersion));
  const byHash = new Map(sorted.map((event) => [event.hash, event]));
  let previous: ChainedEvent | undefined;
  // A link is only worth checking from an event whose predecessor is itself intact; otherwise
  // the broken link is a consequence of a problem already reported.
  let previousIntact = true;
  for (const event of sorted) {
    const expectedVersion = (previous?.streamVersion ?? 0) + 1;
    if (previous && event.streamVersion === previous.streamVersion) {
      problem('edited', event.streamVersion, 'the version is stored twice');
      continue;
    }
    if (event.streamVersion > expectedVersion) {
      const last = event.streamVersion - 1;
      const range = expectedVersion === last ? `version ${last} is` : `versions ${expectedVersion}..${last} are`;
      for (let v = expectedVersion; v <= last; v += 1) problem('deleted', v, `${range} missing`);
    }

    let intact = eventHash(event.prevHash, event) === event.hash;
    if (!intact) {
      const writtenAt = writtenVersion(event, versions);
      if (writtenAt !== undefined) problem('reordered', event.streamVersion, `stored at version ${event.streamVersion}, written as version ${writtenAt}`);
      else problem('edited', event.streamVersion, 'content does not match its hash');
    } else if (event.streamVersion === expectedVersion && previousIntact) {
      const linksTo = previous?.hash ?? GENESIS_HASH;
      if (event.prevHash !== linksTo) {
        const actualPredecessor = byHash.get(event.prevHash);
        if (actualPredecessor && actualPredecessor !== previous) {
          intact = false;
          problem('reordered', event.streamVersion, `links to version ${actualPredecessor.streamVersion}, not ${event.streamVersion - 1}`);
        } else if (previous) {
          // This event is intact, so the one before it changed after this one was chained to it.
          problem('edited', previous.streamVersion, `version ${event.streamVersion} no longer links to it (its hash was recomputed)`);
        } else {
          intact = false;
          problem('edited', event.streamVersion, 'the first event does not start from the genesis hash');
        }
      }
    }
    previous = event;
    previousIntact = intact;
  }
  return [...found.values()].sort((a, b) => a.streamVersion - b.streamVersion);
}

/** The other version of this stream, if any, at which the event's hash does verify. */
function writtenVersion(event: ChainedEvent, versions: ReadonlySet<number>): number | undefined {
  for (const version of versions) {
    if (version !== event.streamVersion && eventHash(event.prevHash, { ...event, streamVersion: version }) === event.hash) {
      return version;
    }
  }
  return undefined;
}
