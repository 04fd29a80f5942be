// Drone's `DELETE .../logs/{stage}/{step}`: the step's output goes, the history stays. The
// decider records `StepLogPurged` (who, when) and the chunks are deleted in the same
// transaction, so there is never a purge without its event nor an event without its purge.
import { buildStreamId } from '../events/build-events.ts';
import { appendToStream } from '../events/append-to-stream.ts';
import type { Database } from '../events/database.ts';
import { StreamVersionConflict, type Checkpoint, type EventStore } from '../events/event-store.ts';
import { EVENTS_CHANNEL } from '../events/sql-event-store.ts';
import { buildDecider, lastCheckpoint } from '../server/command-handler.ts';
import { clearStepLog, type StepRef } from './log-store.ts';

export async function purgeStepLog(
  database: Database,
  store: EventStore,
  ref: StepRef,
  by: { login: string; at: string },
): Promise<{ checkpoint?: Checkpoint }> {
  const streamId = buildStreamId(ref.buildId);
  for (let attempt = 0; ; attempt += 1) {
    const stored = await store.readStream(streamId);
    const state = stored.map(buildDecider.read).reduce(buildDecider.evolve, buildDecider.initialState());
    const events = buildDecider.decide({ type: 'PurgeStepLog', data: { stage: ref.stage, step: ref.step, by: by.login, at: by.at } }, state);
    try {
      const appended = await database.transaction(async (tx) => {
        const result = await appendToStream(tx, streamId, stored.length, events, { actor: by.login });
        await clearStepLog(tx, ref);
        return result;
      });
      await database.notify(EVENTS_CHANNEL).catch(() => {});
      return { checkpoint: lastCheckpoint(appended) };
    } catch (error) {
      // Someone appended in between (the runner, a cancel): re-read and decide again.
      if (!(error instanceof StreamVersionConflict) || attempt >= 8) throw error;
    }
  }
}
