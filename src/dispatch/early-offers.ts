// Stages queued moments ago, read from the log itself: the dispatcher publishes them without
// waiting for the projector to put them on the `queue` view. A build's first stage would
// otherwise wait for the projector's whole batch (builds, stages, steps, queue and their
// checkpoints in one transaction) — most of the time between the API accepting a build and
// a runner starting it.
//
// Only a hint, like queue-hints.ts: it reads by global position, which is not commit order,
// so a stage whose transaction committed late is missed here and found by the dispatcher's
// pass over the view. What it publishes the view would publish too, under the same message
// id (`<stage>:<attempt>`), so the queue stores it once.
import { and, asc, gt, inArray, max } from 'drizzle-orm';
import { buildStreamId, type BuildEvent } from '../events/build-events.ts';
import { evolve, findStage, initialState, isBuild } from '../events/build-state.ts';
import type { Database } from '../events/database.ts';
import { events as eventsTable } from '../events/event-table.ts';
import { EVENTS_CHANNEL } from '../events/sql-event-store.ts';
import { queueRowOf, type QueueRow } from '../projections/queue-projection.ts';

export type EarlyOffers = {
  /** The stages queued since the last call that are still waiting, oldest first. */
  take(): Promise<QueueRow[]>;
  /**
   * Starts at the log's end (what was queued before is on the view by now, or soon) and
   * calls `onAppended` whenever the log may have grown (NOTIFY); resolves with the way to stop.
   */
  watch(onAppended: () => void): Promise<() => Promise<void>>;
};

const QUEUEING = ['StageQueued', 'StageRequeued'];

/** `readBuild` gives a build's events in stream order (the command handler's read). */
export function createEarlyOffers(options: { database: Database; readBuild: (buildId: string) => Promise<BuildEvent[]> }): EarlyOffers {
  const { database } = options;
  let after: bigint | undefined;
  return {
    async watch(onAppended) {
      const [end] = await database.db.select({ last: max(eventsTable.globalPosition) }).from(eventsTable);
      after = end?.last ?? 0n;
      return database.listen(EVENTS_CHANNEL, onAppended);
    },
    async take() {
      if (after === undefined) return [];
      const queued = await database.db
        .select({ streamId: eventsTable.streamId, data: eventsTable.data, globalPosition: eventsTable.globalPosition })
        .from(eventsTable)
        .where(and(gt(eventsTable.globalPosition, after), inArray(eventsTable.type, QUEUEING)))
        .orderBy(asc(eventsTable.globalPosition));
      if (queued.length === 0) return [];
      after = queued.at(-1)!.globalPosition;
      const rows: QueueRow[] = [];
      for (const event of queued) {
        const { stage, attempt, at } = event.data as { stage: number; attempt: number; at: string };
        const buildId = event.streamId.slice(buildStreamId('').length);
        const build = (await options.readBuild(buildId)).reduce(evolve, initialState());
        if (!isBuild(build) || build.finished || build.declined) continue;
        const state = findStage(build, stage);
        // Claimed, cancelled or requeued again since: nothing to publish for this attempt.
        if (state?.status !== 'pending' || state.attempt !== attempt || state.claim) continue;
        const row = queueRowOf(build, stage, attempt, at);
        if (row) rows.push(row);
      }
      return rows;
    },
  };
}
