// The live step logs of one process: per watched step ONE reader of `log_chunks` serves every
// client watching it, woken by a NOTIFY on `runlog_logs` (sent by whoever stores a chunk, in
// this process or another replica) and, as the fallback, by a slow poll. A reader reads the
// chunks past the least advanced of its watchers and hands each watcher the ones it has not
// had, in byte order, so a client that resumes from an old byte and a live one share reads.
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Database } from '../events/database.ts';
import { logChunks } from '../logs/log-table.ts';
import type { StepRef } from '../logs/log-store.ts';

/** The channel a stored chunk is announced on; the payload is the step's key. */
export const LOGS_CHANNEL = 'runlog_logs';

export const stepKey = (ref: StepRef) => `${ref.buildId}:${ref.stage}:${ref.step}`;

/**
 * Tells live readers (in every replica) that a step's log grew or was cleared. A hint only:
 * lost, it costs a poll interval; it never fails the caller.
 */
export function announceLog(database: Pick<Database, 'notify'>, ref: StepRef): void {
  database.notify(LOGS_CHANNEL, stepKey(ref)).catch(() => {});
}

export type TailChunk = { offset: number; data: string; created: Date };

export interface LogTail {
  /**
   * Calls `onChunk` with every chunk of the step's log that ends after byte `from`, as it is
   * stored, in order, without waiting (the callback must not block). `stop` ends it.
   */
  watch(ref: StepRef, from: number, onChunk: (chunk: TailChunk) => void, onError?: (error: unknown) => void): { stop(): void };
  close(): Promise<void>;
}

interface Watcher {
  next: number;
  readonly onChunk: (chunk: TailChunk) => void;
  readonly onError?: (error: unknown) => void;
}

interface Step {
  readonly ref: StepRef;
  readonly watchers: Set<Watcher>;
  reading: Promise<void> | undefined;
  again: boolean;
}

export function createLogTail(options: { database: Database; pollIntervalMs?: number; log?: (message: string) => void }): LogTail {
  const { database } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const steps = new Map<string, Step>();
  let listening: Promise<(() => Promise<void>) | undefined> | undefined;
  let poller: ReturnType<typeof setInterval> | undefined;

  async function read(step: Step) {
    do {
      step.again = false;
      if (step.watchers.size === 0) return;
      const from = Math.min(...[...step.watchers].map((watcher) => watcher.next));
      const rows = await database.db
        .select({ offset: logChunks.offset, size: logChunks.size, data: logChunks.data, created: logChunks.created })
        .from(logChunks)
        .where(
          and(
            eq(logChunks.buildId, step.ref.buildId),
            eq(logChunks.stage, step.ref.stage),
            eq(logChunks.step, step.ref.step),
            // The chunk that holds byte `from`, and every later one.
            gt(sql`${logChunks.offset} + ${logChunks.size}`, from),
          ),
        )
        .orderBy(asc(logChunks.offset));
      for (const row of rows) {
        const chunk = { offset: Number(row.offset), data: row.data, created: row.created };
        const end = chunk.offset + row.size;
        for (const watcher of step.watchers) {
          if (end <= watcher.next || chunk.offset > watcher.next) continue;
          watcher.next = end;
          watcher.onChunk(chunk);
        }
      }
    } while (step.again);
  }

  function wake(step: Step) {
    if (step.reading) {
      step.again = true;
      return;
    }
    step.reading = read(step)
      .catch((error: unknown) => {
        for (const watcher of step.watchers) watcher.onError?.(error);
      })
      .finally(() => {
        step.reading = undefined;
      });
  }

  const wakeAll = () => {
    for (const step of steps.values()) wake(step);
  };

  function startListening() {
    listening = database
      .listen(LOGS_CHANNEL, (payload) => {
        const step = payload === '' ? undefined : steps.get(payload);
        if (step) wake(step);
        else if (payload === '') wakeAll();
      })
      .catch(() => undefined); // no LISTEN: the poll alone delivers
    poller = setInterval(wakeAll, pollIntervalMs);
  }

  async function stopListening() {
    clearInterval(poller);
    poller = undefined;
    const current = listening;
    listening = undefined;
    const unlisten = await current;
    await unlisten?.().catch(() => {});
  }

  return {
    watch(ref, from, onChunk, onError) {
      const key = stepKey(ref);
      let step = steps.get(key);
      if (!step) {
        step = { ref, watchers: new Set(), reading: undefined, again: false };
        steps.set(key, step);
      }
      if (!listening) startListening();
      const watcher: Watcher = { next: from, onChunk, ...(onError ? { onError } : {}) };
      step.watchers.add(watcher);
      wake(step);
      const owner = step;
      return {
        stop() {
          owner.watchers.delete(watcher);
          if (owner.watchers.size === 0 && steps.get(key) === owner) steps.delete(key);
          if (steps.size === 0) void stopListening();
        },
      };
    },
    async close() {
      steps.clear();
      await stopListening();
    },
  };
}
