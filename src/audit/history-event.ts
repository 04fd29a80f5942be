// One event of a stream as the audit tools see it, whether it was read from the database or
// from a server's `GET .../events`: the stored event without its transaction id (physical,
// meaningless outside one database) and with times as ISO text (what JSON carries).
import { z } from 'zod';
import type { StoredEvent } from '../events/event-store.ts';

export interface HistoryEvent {
  /** The event's global position in the log: a decimal string (64-bit). */
  readonly position: string;
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** When the store wrote it (ISO 8601, UTC). */
  readonly recordedAt: string;
  readonly prevHash: string;
  readonly hash: string;
}

export const fromStored = (event: StoredEvent): HistoryEvent => ({
  position: event.globalPosition,
  streamId: event.streamId,
  version: event.streamVersion,
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  recordedAt: event.recordedAt.toISOString(),
  prevHash: event.prevHash,
  hash: event.hash,
});

/** The wire form (`GET .../events`, `runlog events --json`): snake_case, as the rest of the API. */
export const HistoryEventJson = z.object({
  position: z.string().regex(/^[0-9]+$/),
  stream: z.string().min(1),
  version: z.number().int().positive(),
  type: z.string().min(1),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()).default({}),
  recorded_at: z.string(),
  prev_hash: z.string(),
  hash: z.string(),
});
export type HistoryEventJson = z.infer<typeof HistoryEventJson>;

export const historyEventJson = (event: HistoryEvent): HistoryEventJson => ({
  position: event.position,
  stream: event.streamId,
  version: event.version,
  type: event.type,
  data: event.data,
  metadata: { ...event.metadata },
  recorded_at: event.recordedAt,
  prev_hash: event.prevHash,
  hash: event.hash,
});

export const fromHistoryJson = (json: HistoryEventJson): HistoryEvent => ({
  position: json.position,
  streamId: json.stream,
  version: json.version,
  type: json.type,
  data: json.data,
  metadata: json.metadata,
  recordedAt: json.recorded_at,
  prevHash: json.prev_hash,
  hash: json.hash,
});

/** Global positions compared as numbers (they are 64-bit decimal strings). */
export const comparePositions = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * When the fact happened: the `at` the command carried (what the decider and the runner's
 * clocks reason with), else when the store wrote it (events without an `at`).
 */
export function eventTime(event: HistoryEvent): string {
  const at = (event.data as { at?: unknown } | null)?.at;
  return typeof at === 'string' && !Number.isNaN(Date.parse(at)) ? new Date(at).toISOString() : event.recordedAt;
}
