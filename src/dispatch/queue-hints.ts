// How the projector tells the dispatcher, in the same process, which stages it just put on
// the `queue` view: the dispatcher then publishes those rows at once instead of finding them
// on its next pass over the whole view. Only a hint: a stage queued by another replica's
// projector is found by that pass (DESIGN.md: the log and its views are the truth).

/** One stage of one build. */
export type StageKey = { buildId: string; stage: number };

export type QueueHints = {
  /** The projector applied these events (any types; queued stages are picked out). */
  notice(events: readonly { type: string; data: unknown; build?: { buildId: string } }[]): void;
  /** Something else is waiting (early-offers.ts: the log grew): ends the current `wait`, or the next. */
  wakeUp(): void;
  /** The stages noticed since the last call, oldest first; also clears a `wakeUp`. */
  take(): StageKey[];
  /** Resolves after `ms`, as soon as a stage is noticed or `wakeUp` called, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
};

export function createQueueHints(): QueueHints {
  let pending: StageKey[] = [];
  let woken = false;
  let wake: (() => void) | undefined;
  return {
    wakeUp() {
      woken = true;
      wake?.();
    },
    notice(events) {
      for (const event of events) {
        if ((event.type === 'StageQueued' || event.type === 'StageRequeued') && event.build) {
          pending.push({ buildId: event.build.buildId, stage: (event.data as { stage: number }).stage });
        }
      }
      if (pending.length > 0) wake?.();
    },
    take() {
      const taken = pending;
      pending = [];
      woken = false;
      return taken;
    },
    wait(ms, signal) {
      if (pending.length > 0 || woken || signal.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          if (wake === done) wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
        wake = done;
      });
    },
  };
}
