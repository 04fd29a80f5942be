import type { HistoryEvent } from './types.ts';

/** One line of the timeline: what happened, to which stage/step, by whom or on which runner. */
export function describeEvent(event: HistoryEvent, names: { stage(n: number): string; step(stage: number, step: number): string }): string {
  const data = event.data as Record<string, any>;
  const stage = typeof data.stage === 'number' ? names.stage(data.stage) : '';
  const step = typeof data.step === 'number' ? names.step(data.stage, data.step) : '';
  const where = [stage, step].filter(Boolean).join(' › ');
  const parts = [event.type.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()];
  if (where) parts.push(where);
  if (data.runner?.name) parts.push(`runner ${data.runner.name}`);
  if (typeof data.attempt === 'number' && data.attempt > 1) parts.push(`attempt ${data.attempt}`);
  if (data.status) parts.push(String(data.status));
  if (typeof data.exitCode === 'number' && data.exitCode !== 0) parts.push(`exit ${data.exitCode}`);
  if (data.by) parts.push(`by ${data.by}`);
  if (data.createdBy) parts.push(`by ${data.createdBy}`);
  if (data.reason && typeof data.reason === 'string') parts.push(data.reason);
  if (data.workspace) parts.push(`workspace ${data.workspace}`);
  return parts.join(' · ');
}

export const eventTime = (event: HistoryEvent) => new Date(event.data.at ?? event.recorded_at);

/**
 * The build's events in order with a slider: moving it replays the build to that event
 * (the graph above shows the build as it was then); the last position is "now".
 */
export function Timeline({ events, position, onPosition, names }: { events: HistoryEvent[]; position: number; onPosition(index: number): void; names: Parameters<typeof describeEvent>[1] }) {
  if (events.length === 0) return <p class="muted">No events yet.</p>;
  const start = eventTime(events[0]!).getTime();
  const current = events[Math.min(position, events.length - 1)]!;
  return (
    <section class="timeline" aria-label="timeline">
      <div class="slider row">
        <label for="replay">Replay to</label>
        <input
          id="replay"
          type="range"
          min={0}
          max={events.length - 1}
          step={1}
          value={position}
          aria-valuetext={`${current.type} at ${eventTime(current).toLocaleTimeString()}`}
          onInput={(e) => onPosition(Number(e.currentTarget.value))}
        />
        <output for="replay" aria-live="polite">
          {position + 1}/{events.length} · {current.type}
        </output>
        {position < events.length - 1 && (
          <button type="button" onClick={() => onPosition(events.length - 1)}>
            Now
          </button>
        )}
      </div>
      <ol class="events">
        {events.map((event, index) => (
          <li key={event.position} class={index === position ? 'current' : index > position ? 'future' : ''} data-type={event.type}>
            <button type="button" class="quiet event-button" onClick={() => onPosition(index)} aria-pressed={index === position}>
              <time dateTime={eventTime(event).toISOString()}>+{((eventTime(event).getTime() - start) / 1000).toFixed(1)}s</time>
              <span>{describeEvent(event, names)}</span>
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
