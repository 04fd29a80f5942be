// A stream's head — its last event's version and hash — as appends need it: the next event's
// version and prevHash come from it, so a head that no longer matches its own hash must not
// be chained onto.
import { sql } from 'drizzle-orm';
import type { Executor } from './database.ts';
import type { StreamHead } from './event-store.ts';
import { GENESIS_HASH, eventHash } from './hash-chain.ts';
import { preparedStatement } from './prepared-statement.ts';

export const EMPTY_HEAD: StreamHead = { streamVersion: 0, hash: GENESIS_HASH };

interface HeadEvent {
  readonly head: StreamHead;
  /** The stored hash is the hash of the stored event (always true for an empty stream). */
  readonly intact: boolean;
}

// The whole last event, not only its hash: checking that the hash is the event's own costs
// one sha256 here, and it is what keeps an edited head from being chained onto.
const lastEvent = preparedStatement(
  'runlog_last_event',
  sql`select stream_version, prev_hash, hash, type, data, metadata
        from events
       where stream_id = ${sql.placeholder('streamId')}
       order by stream_version desc
       limit 1`,
  ([streamVersion, prevHash, hash, type, data, metadata]) => ({
    streamVersion: streamVersion as number,
    prevHash: prevHash as string,
    hash: hash as string,
    type: type as string,
    data,
    metadata,
  }),
);

/** The stream's head as stored, and whether its last event still matches its hash. */
export async function readHeadEvent(executor: Executor, streamId: string): Promise<HeadEvent> {
  const [last] = await lastEvent.run(executor, { streamId });
  if (last === undefined) return { head: EMPTY_HEAD, intact: true };
  return {
    head: { streamVersion: last.streamVersion, hash: last.hash },
    intact: eventHash(last.prevHash, { ...last, streamId }) === last.hash,
  };
}

/** The stream's head, to chain onto; StreamHeadEdited when its last event does not match its hash. */
export async function readHeadToChainOnto(executor: Executor, streamId: string): Promise<StreamHead> {
  const { head, intact } = await readHeadEvent(executor, streamId);
  if (!intact) throw new StreamHeadEdited(streamId, head.streamVersion);
  return head;
}

/**
 * The stream's last event no longer matches its hash: it was edited behind the store's back.
 * Chaining onto it would make a new event vouch for a hash nobody can recompute, so the append
 * is refused until someone looks (`runlog verify` reports it as `edited`).
 */
export class StreamHeadEdited extends Error {
  override readonly name = 'StreamHeadEdited';
  readonly streamId: string;
  readonly streamVersion: number;

  constructor(streamId: string, streamVersion: number) {
    super(
      `refusing to append to ${streamId}: its last event (version ${streamVersion}) does not match its hash, ` +
        'so it was edited outside the event store; run `runlog verify` to see what changed',
    );
    this.streamId = streamId;
    this.streamVersion = streamVersion;
  }
}
