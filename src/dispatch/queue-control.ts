// Pausing the queue (Drone's `DELETE /api/queue`, `POST /api/queue` to resume). The pause is
// an event in a stream of its own, so it is audited (who, when) and survives restarts: the
// dispatcher of whichever replica leads reads the stream's last event before publishing.
// While paused nothing new is handed to runners; what was already handed out runs on.
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../events/database.ts';
import { events } from '../events/event-table.ts';
import type { Decider } from '../server/command-handler.ts';

export const QUEUE_STREAM = 'queue-default';

const data = z.object({ by: z.string(), at: z.string() });
export const QueuePaused = z.object({ type: z.literal('QueuePaused'), data });
export const QueueResumed = z.object({ type: z.literal('QueueResumed'), data });
export const QueueEvent = z.discriminatedUnion('type', [QueuePaused, QueueResumed]);
export type QueueEvent = z.infer<typeof QueueEvent>;

export type QueueState = { paused: false } | { paused: true; by: string; at: string };
export type QueueCommand = { type: 'PauseQueue' | 'ResumeQueue'; data: { by: string; at: string } };

export const initialQueueState = (): QueueState => ({ paused: false });

export function evolveQueue(_state: QueueState, event: QueueEvent): QueueState {
  return event.type === 'QueuePaused' ? { paused: true, ...event.data } : { paused: false };
}

/** Idempotent, as Drone's: pausing a paused queue (or resuming a running one) records nothing. */
export function decideQueue(command: QueueCommand, state: QueueState): QueueEvent[] {
  if (command.type === 'PauseQueue') return state.paused ? [] : [{ type: 'QueuePaused', data: command.data }];
  return state.paused ? [{ type: 'QueueResumed', data: command.data }] : [];
}

export const queueDecider: Decider<QueueCommand, QueueEvent, QueueState> = {
  decide: decideQueue,
  evolve: evolveQueue,
  initialState: initialQueueState,
  read: (stored) => QueueEvent.parse({ type: stored.type, data: stored.data }),
};

/** The queue's state from the stream's last event: one indexed read, cheap enough for every dispatcher round. */
export async function readQueueState(db: Executor): Promise<QueueState> {
  const [last] = await db.db
    .select({ type: events.type, data: events.data })
    .from(events)
    .where(eq(events.streamId, QUEUE_STREAM))
    .orderBy(desc(events.streamVersion))
    .limit(1);
  if (!last) return initialQueueState();
  return evolveQueue(initialQueueState(), QueueEvent.parse({ type: last.type, data: last.data }));
}
