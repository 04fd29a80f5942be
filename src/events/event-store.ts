// The EventStore port: what the rest of runlog may do with the event log. One implementation
// (sql-event-store.ts) serves both databases; database.ts holds what differs between them.
import type { Checkpoint } from './checkpoint.ts';

export type { Checkpoint } from './checkpoint.ts';

/** An event to append. `data` and `metadata` must be JSON; they are stored as jsonb. */
export interface NewEvent {
  readonly type: string;
  readonly data: unknown;
  /** Merged over the append's common metadata (actor, correlation and causation ids, ...). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * An event as stored. `globalPosition` and `transactionId` are decimal strings: both are
 * 64-bit (bigserial, xid8), which a JS number cannot hold and a bigint cannot put in JSON.
 * Compare them with `compareCheckpoints`, never as strings.
 */
export interface StoredEvent {
  readonly globalPosition: string;
  readonly transactionId: string;
  readonly streamId: string;
  /** 1 for a stream's first event, then +1 per event, without gaps. */
  readonly streamVersion: number;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly recordedAt: Date;
  /** `hash` of the stream's previous event; 64 zeros for version 1. */
  readonly prevHash: string;
  /** sha256(prevHash + canonicalJson({streamId, streamVersion, type, data, metadata})), hex. */
  readonly hash: string;
}

/** The stream's current version (0: no such stream) or `'any'` to append whatever it is. */
export type ExpectedVersion = number | 'any';

export interface AppendResult {
  /** The stream's version after the append: pass it as the next expected version. */
  readonly streamVersion: number;
  /** One per appended event, in order. */
  readonly globalPositions: readonly string[];
  /** The appending transaction's xid8 ('' when nothing was appended). */
  readonly transactionId: string;
}

export interface StreamHead {
  /** 0 when the stream has no event. */
  readonly streamVersion: number;
  /** Hash of the last event, 64 zeros when there is none: the next event's prevHash. */
  readonly hash: string;
}

export interface ReadStreamOptions {
  /** Inclusive; default 1. */
  readonly fromVersion?: number;
  /** Inclusive; default the head. */
  readonly toVersion?: number;
}

export interface ReadAllBatchesOptions {
  /** Start after this checkpoint; null or absent: from the first event. */
  readonly after?: Checkpoint | null;
  /** Default 1000. */
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

export interface FollowOptions {
  /** Start after this checkpoint; null: from the first event. */
  readonly after: Checkpoint | null;
  /** Aborting it ends `follow` (its promise resolves) once the batch in hand is handled. */
  readonly signal: AbortSignal;
  /** Most events per `onBatch` call; default 500. */
  readonly batchSize?: number;
  /** How often to look for new events when no NOTIFY arrives; default 250 ms. */
  readonly pollIntervalMs?: number;
  /**
   * How long a per-stream gap may last before `follow` gives up with a StreamGapError;
   * default 5000 ms. A gap below the commit horizon is final (see follow.ts), so waiting
   * only covers what we did not foresee; the error makes the fault visible.
   */
  readonly gapTimeoutMs?: number;
  /**
   * Called with each batch, in commit-safe order, never concurrently; the next read waits
   * for it. `checkpoint` is the last event's: store it with the batch's effects, in the same
   * transaction, to process each event exactly once. A throw ends `follow` with that error.
   */
  readonly onBatch: (events: readonly StoredEvent[], checkpoint: Checkpoint) => Promise<void> | void;
}

/**
 * The append-only event log.
 *
 * Lifecycle: made by `createEventStore(database)`; it owns no connection — closing the
 * Database ends it. Nothing to start or stop except `follow`, which runs until its signal aborts.
 *
 * Concurrency: any number of callers, processes and server replicas may append at once.
 * Each version of a stream is written exactly once (the (stream_id, stream_version) unique
 * key, checked by every append's INSERT along with the head it chains onto), so the hash
 * chain never forks; a caller whose expected version is stale gets a StreamVersionConflict and
 * must re-read the stream and re-decide — never retry the same events blindly. With an
 * expected version, `append` is one autocommit statement (append-alone.ts): one round trip
 * when the store knows the stream's head (it remembers the heads of recent readStream,
 * headOf and append calls), two when it must read it first. `'any'` takes a per-stream
 * advisory lock instead and starts over when a lock-free append takes its version, so it does
 * not conflict. Appends to different streams do not wait for
 * each other. An append must be the first write of its transaction (AppendNotFirstWrite
 * otherwise): that keeps each stream's versions in the order readers see (see follow.ts).
 * An append refuses to chain onto a last event that no longer matches its hash
 * (StreamHeadEdited, stream-head.ts).
 *
 * Ordering: `readStream` is version order. `readAll`, `readAllBatches` and `follow` are commit
 * order made safe: they return only events whose transaction is older than every transaction
 * still running in the cluster (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`),
 * ordered by (transaction_id, global_position). So a late commit is never skipped: it holds
 * readers back until it ends. The price: one long-running write transaction anywhere in the
 * cluster delays every follower (never loses an event for them).
 *
 * Idempotence: reads are side-effect free. An append is not idempotent: if its outcome is
 * unknown (connection lost at commit), retry with the same expected version — a conflict then
 * means it (or someone) already wrote, and re-reading tells which. `follow` delivers at least
 * once across restarts; exactly once when the consumer stores the checkpoint with its effects.
 * After each commit the store sends `NOTIFY runlog_events` as a wake-up hint only; followers
 * poll as well, so a lost notification costs latency, never events.
 */
export interface EventStore {
  /**
   * Appends `events` to `streamId` in one transaction, if the stream is at `expectedVersion`.
   * `metadata` is merged under each event's own metadata. An empty `events` writes nothing but
   * still checks the expected version.
   */
  append(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    metadata?: Readonly<Record<string, unknown>>,
  ): Promise<AppendResult>;
  /** The stream's events in version order; [] for an unknown stream. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  /** Up to `limit` events after `after` (null: from the start), in commit-safe order. */
  readAll(after: Checkpoint | null, limit: number): Promise<StoredEvent[]>;
  /** Every commit-safe event after `after`, in batches, until caught up (for verify, rebuild, bench). */
  readAllBatches(options?: ReadAllBatchesOptions): AsyncGenerator<StoredEvent[], void, undefined>;
  /** The stream's current version and last hash. */
  headOf(streamId: string): Promise<StreamHead>;
  /** The checkpoint of the newest commit-safe event, null for an empty log: what a follower catches up to. */
  lastCheckpoint(): Promise<Checkpoint | null>;
  /**
   * A catch-up subscription: delivers every event after `after`, then every new one as it
   * becomes safe to read, waking on NOTIFY and polling as the fallback. Checks that each
   * stream's versions arrive as last + 1. Resolves when `signal` aborts; rejects with the
   * error of a failed read or `onBatch`, or with StreamGapError.
   */
  follow(options: FollowOptions): Promise<void>;
}

/** The stream was not at the expected version. Re-read it, re-decide, append again. */
export class StreamVersionConflict extends Error {
  override readonly name = 'StreamVersionConflict';
  readonly streamId: string;
  readonly expected: ExpectedVersion;
  /** The stream's version as found; may be stale again by the time you read it. */
  readonly actual: number;

  constructor(streamId: string, expected: ExpectedVersion, actual: number) {
    super(`stream ${streamId} is at version ${actual}, expected ${expected}`);
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The append was not the first write of its transaction; it must be (see EventStore). */
export class AppendNotFirstWrite extends Error {
  override readonly name = 'AppendNotFirstWrite';
  readonly streamId: string;
  readonly transactionId: string;

  constructor(streamId: string, transactionId: string) {
    super(
      `refusing to append to ${streamId}: transaction ${transactionId} already wrote something; ` +
        'an append must be the first write of its transaction so readers see each stream in version order',
    );
    this.streamId = streamId;
    this.transactionId = transactionId;
  }
}

/** A follower saw a stream skip or repeat a version, and the gap did not close. */
export class StreamGapError extends Error {
  override readonly name = 'StreamGapError';
  readonly streamId: string;
  /** The version that should have come next. */
  readonly expectedVersion: number;
  /** The version that came instead. */
  readonly actualVersion: number;
  readonly globalPosition: string;

  constructor(streamId: string, expectedVersion: number, actualVersion: number, globalPosition: string) {
    super(
      `stream ${streamId}: expected version ${expectedVersion} next in the log, found ${actualVersion} ` +
        `(global position ${globalPosition}); an event is missing, was deleted, or was appended out of order`,
    );
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
    this.globalPosition = globalPosition;
  }
}
