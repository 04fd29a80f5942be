// A moment in a build's history, as `--at` and `?at=` name it: a global position (what the
// timeline shows) or a time. Pure.
import { comparePositions, eventTime, type HistoryEvent } from './history-event.ts';

export type Moment = { readonly kind: 'position'; readonly position: string } | { readonly kind: 'time'; readonly time: string };

/** Bad `--at` / `?at=` input; the message says what is accepted. */
export class MomentError extends TypeError {
  override readonly name = 'MomentError';
}

const POSITION = /^[0-9]{1,19}$/;
// A date-time with a zone: a time without one would mean the local zone of whoever typed it.
const TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Reads `123` (a global position) or `2026-01-01T12:00:00Z` (a time with Z or an offset). */
export function parseMoment(text: string): Moment {
  const value = text.trim();
  if (POSITION.test(value)) return { kind: 'position', position: BigInt(value).toString() };
  if (TIME.test(value)) {
    const ms = Date.parse(value.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return { kind: 'time', time: new Date(ms).toISOString() };
  }
  throw new MomentError(
    `expected a global position (like 1042, from \`runlog events\`) or a time with its zone (like 2026-01-01T12:00:00Z or 2026-01-01T14:00:00+02:00), got ${JSON.stringify(text)}`,
  );
}

/** Whether `event` had happened by `moment`: at or before the position, or at or before the time. */
export function isAtOrBefore(event: HistoryEvent, moment: Moment): boolean {
  return moment.kind === 'position'
    ? comparePositions(event.position, moment.position) <= 0
    : Date.parse(eventTime(event)) <= Date.parse(moment.time);
}

/**
 * The events of one stream that had happened by `moment`. A stream's events are in version
 * order, which is also position and time order, so this is a prefix.
 */
export function eventsUpTo(events: readonly HistoryEvent[], moment: Moment): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  for (const event of events) {
    if (!isAtOrBefore(event, moment)) break;
    out.push(event);
  }
  return out;
}

/** The clock reading a moment stands for: the time given, or the time of the last event by the position. */
export function momentTime(moment: Moment, upTo: readonly HistoryEvent[]): string | undefined {
  if (moment.kind === 'time') return moment.time;
  const last = upTo[upTo.length - 1];
  return last ? eventTime(last) : undefined;
}

export const describeMoment = (moment: Moment): string => (moment.kind === 'position' ? `position ${moment.position}` : moment.time);
