// The live build feed of one process: ONE follower of the event log (store.follow: NOTIFY
// wake-ups, polling as the fallback) turns each build event into a snapshot and hands it to
// every subscriber's own callback; no subscriber queries the log in a loop. The follower runs
// only while someone subscribes. A subscriber that resumes (Last-Event-ID) first reads what
// it missed from the log itself, once, then joins the live messages; each event reaches it
// exactly once, in log order (deduplicated by checkpoint).
import { inArray, sql } from 'drizzle-orm';
import { compareCheckpoints, type Checkpoint } from '../events/checkpoint.ts';
import type { Database } from '../events/database.ts';
import { events as eventsTable } from '../events/event-table.ts';
import type { EventStore } from '../events/event-store.ts';
import { repos } from '../projections/tables.ts';
import { buildSnapshots, type BuildSnapshot } from './build-snapshots.ts';

export type RepoRow = typeof repos.$inferSelect;

/** A build snapshot with its repo as the `repos` view has it now (undefined: not in the view yet). */
export type FeedSnapshot = BuildSnapshot & { readonly repo: RepoRow | undefined };

export interface FeedSubscription {
  /** Start after this checkpoint (a resume: read from the log first); absent: from now on. */
  readonly after?: Checkpoint | null;
  /** Only this build's snapshots. */
  readonly buildId?: string;
  /** Called in log order, never twice for one event; must not block (put it in a mailbox). */
  readonly onSnapshot: (snapshot: FeedSnapshot) => void;
  /** The resume read failed: the subscription is over. */
  readonly onError?: (error: unknown) => void;
}

export interface BuildFeed {
  /** Resolves once the subscriber is registered and, for a resume, has been handed what it missed. */
  subscribe(subscription: FeedSubscription): { ready: Promise<void>; stop(): void };
  /** The checkpoint of the event at a global position (undefined: no such event). */
  checkpointAt(position: string): Promise<Checkpoint | undefined>;
  /** Stops the follower; waits for its last batch. */
  close(): Promise<void>;
}

export interface BuildFeedOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly log?: (message: string) => void;
  readonly pollIntervalMs?: number;
}

interface Subscriber {
  readonly subscription: FeedSubscription;
  /** Live snapshots held back while the resume read runs. */
  buffer: FeedSnapshot[] | undefined;
  last: Checkpoint | null | undefined;
}

const RESUME_BATCH = 500;

export function createBuildFeed(options: BuildFeedOptions): BuildFeed {
  const { database, store } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const subscribers = new Set<Subscriber>();
  let running: { stop: AbortController; done: Promise<void> } | undefined;

  const wants = (subscriber: Subscriber, buildId: string) => subscriber.subscription.buildId === undefined || subscriber.subscription.buildId === buildId;
  const anyoneWants = (buildId: string) => [...subscribers].some((subscriber) => wants(subscriber, buildId));

  function deliver(subscriber: Subscriber, snapshot: FeedSnapshot) {
    if (subscriber.last !== undefined && compareCheckpoints(snapshot.checkpoint, subscriber.last) <= 0) return;
    subscriber.last = snapshot.checkpoint;
    if (wants(subscriber, snapshot.buildId)) subscriber.subscription.onSnapshot(snapshot);
  }

  async function withRepos(snapshots: BuildSnapshot[]): Promise<FeedSnapshot[]> {
    const ids = [...new Set(snapshots.map((snapshot) => snapshot.repoId))];
    const rows = ids.length > 0 ? await database.db.select().from(repos).where(inArray(repos.id, ids)) : [];
    const byId = new Map(rows.map((row) => [row.id, row]));
    return snapshots.map((snapshot) => ({ ...snapshot, repo: byId.get(snapshot.repoId) }));
  }

  function start() {
    const stop = new AbortController();
    const done = (async () => {
      let cursor = await store.lastCheckpoint();
      while (!stop.signal.aborted) {
        try {
          await store.follow({
            after: cursor,
            signal: stop.signal,
            ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
            onBatch: async (batch, checkpoint) => {
              const snapshots = await withRepos(await buildSnapshots(store, batch, anyoneWants));
              for (const snapshot of snapshots) {
                for (const subscriber of subscribers) {
                  if (subscriber.buffer) subscriber.buffer.push(snapshot);
                  else deliver(subscriber, snapshot);
                }
              }
              cursor = checkpoint;
            },
          });
        } catch (error) {
          if (stop.signal.aborted) break;
          log(`runlog: live build feed: ${error instanceof Error ? error.message : String(error)}; following again in 1 s`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    })();
    return { stop, done };
  }

  async function resume(subscriber: Subscriber, after: Checkpoint | null) {
    let cursor = after;
    const wanted = (buildId: string) => wants(subscriber, buildId);
    while (true) {
      const batch = await store.readAll(cursor, RESUME_BATCH);
      if (batch.length === 0) break;
      for (const snapshot of await withRepos(await buildSnapshots(store, batch, wanted))) deliver(subscriber, snapshot);
      const last = batch[batch.length - 1]!;
      cursor = { transactionId: last.transactionId, globalPosition: last.globalPosition };
      if (subscriber.last === undefined || compareCheckpoints(cursor, subscriber.last) > 0) subscriber.last = cursor;
      if (batch.length < RESUME_BATCH) break;
    }
  }

  function unsubscribe(subscriber: Subscriber) {
    if (!subscribers.delete(subscriber)) return;
    if (subscribers.size === 0 && running) {
      running.stop.abort();
      running = undefined;
    }
  }

  return {
    subscribe(subscription) {
      const resuming = subscription.after !== undefined;
      const subscriber: Subscriber = { subscription, buffer: resuming ? [] : undefined, last: resuming ? subscription.after : undefined };
      subscribers.add(subscriber);
      running ??= start();
      const ready = (async () => {
        if (!resuming) return;
        try {
          await resume(subscriber, subscription.after ?? null);
          for (const snapshot of subscriber.buffer ?? []) deliver(subscriber, snapshot);
          subscriber.buffer = undefined;
        } catch (error) {
          unsubscribe(subscriber);
          subscription.onError?.(error);
          throw error;
        }
      })();
      ready.catch(() => {});
      return { ready, stop: () => unsubscribe(subscriber) };
    },

    async checkpointAt(position) {
      if (!/^[1-9][0-9]{0,18}$/.test(position)) return undefined;
      const [row] = await database.query<{ transaction_id: string }>(
        sql`select transaction_id::text as transaction_id from ${eventsTable} where global_position = ${position}::bigint`,
      );
      return row ? { transactionId: row.transaction_id, globalPosition: position } : undefined;
    },

    async close() {
      subscribers.clear();
      const current = running;
      running = undefined;
      current?.stop.abort();
      await current?.done.catch(() => {});
    },
  };
}
