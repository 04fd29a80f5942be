import { BuildCommand, type BuildCommandInput } from '../events/build-commands.ts';
import { decide } from '../events/build-decider.ts';
import type { BuildEvent, RunnerRef } from '../events/build-events.ts';
import type { Plan } from '../pipeline/plan.ts';
import type { Trigger } from '../pipeline/trigger.ts';
import { evolve, initialState, isBuild, type BuildState } from '../events/build-state.ts';
import type { LogChunk } from './log-batcher.ts';

/**
 * How a stage runner talks to the build it runs — the one port between the runner and
 * wherever the build's events live: the store in the same process (`runlog serve`,
 * `runlog exec`, tests: `createMemoryReporter` or a store-backed adapter) or the server
 * over HTTP RPC (the distributed runner). A reporter is bound to one build.
 *
 * Lifecycle: the runner calls `history()` once before it starts (to replay the stage's
 * rules), then `command()` for every transition and `log()` for output, and polls
 * `cancelled()` until the stage ends. Nothing needs closing.
 *
 * Concurrency: the runner calls `command` and `log` concurrently for parallel steps; an
 * adapter serialises what must be (one decision at a time per build — a store adapter
 * re-reads and re-decides on a version conflict). `log` calls for one step are never
 * concurrent and come in offset order.
 *
 * Errors: `command` rejects with the decider's `IllegalCommand` when the build's state
 * refuses it — `stale_lease` means another runner holds the stage now and this one must
 * stop at once without recording anything more. Any other rejection (network, store) is
 * an infrastructure failure the adapter has already retried as far as it sensibly can.
 *
 * Idempotence: `command` is not idempotent (a second `StartStep` is refused as
 * `step_not_pending`). `log` is: a chunk carries its byte offset in the step's stored log,
 * so an adapter that resends after a timeout lets the receiver drop what it already has;
 * a chunk beyond the end (a gap) is refused. A step's log belongs to its latest
 * `StepStarted`: when a later attempt starts the step again, its log begins anew at 0.
 */
export type Reporter = {
  /** The build's events so far, in stream order. */
  history(): Promise<BuildEvent[]>;
  /** Decides `command` against the build's current state and appends the result; resolves with the new events. */
  command(command: BuildCommandInput): Promise<BuildEvent[]>;
  /** Stores a chunk of a step's (already masked and capped) log. */
  log(stage: number, step: number, chunk: LogChunk): Promise<void>;
  /**
   * Whether a cancel of the build has been requested; polled by the runner (cheap to call).
   * A remote adapter may fold its lease check into this poll and reject with
   * `IllegalCommand('stale_lease')`: the runner then stops as for a refused command.
   */
  cancelled(): Promise<boolean>;
};

export type MemoryReporter = Reporter & {
  /** Every event so far (a snapshot). */
  events(): BuildEvent[];
  /** The stored log of a step, as one string. */
  logText(stage: number, step: number): string;
};

export type MemoryReporterHooks = {
  /** Called with the events each command appended, after they are stored. */
  onEvents?: (events: BuildEvent[]) => void;
  /** Called with every chunk stored (not with a duplicate resend). */
  onLog?: (stage: number, step: number, chunk: LogChunk) => void;
};

/**
 * A reporter on an in-memory stream that runs the real decider: the same decisions the
 * server makes, with no store. `runlog exec` and the tests use it.
 */
export function createMemoryReporter(initialEvents: readonly BuildEvent[] = [], hooks: MemoryReporterHooks = {}): MemoryReporter {
  const events: BuildEvent[] = [...initialEvents];
  let state: BuildState = events.reduce(evolve, initialState());
  const logs = new Map<string, { text: string; size: number }>();
  const encoder = new TextEncoder();

  return {
    async history() {
      return [...events];
    },
    async command(input) {
      const command = BuildCommand.parse(input);
      // decide + append in one synchronous stretch: no other call can interleave.
      const appended = decide(command, state);
      for (const event of appended) {
        events.push(event);
        state = evolve(state, event);
        // A step started again (a later attempt) writes a new log from offset 0.
        if (event.type === 'StepStarted') logs.delete(`${event.data.stage}/${event.data.step}`);
      }
      hooks.onEvents?.(appended);
      return appended;
    },
    async log(stage, step, chunk) {
      const key = `${stage}/${step}`;
      const stored = logs.get(key) ?? { text: '', size: 0 };
      const size = encoder.encode(chunk.data).length;
      if (chunk.offset + size <= stored.size) return; // a resend of what is already stored
      if (chunk.offset !== stored.size) {
        throw new RangeError(`log of stage ${stage} step ${step}: chunk at offset ${chunk.offset}, expected ${stored.size}`);
      }
      logs.set(key, { text: stored.text + chunk.data, size: stored.size + size });
      hooks.onLog?.(stage, step, chunk);
    },
    async cancelled() {
      return isBuild(state) && state.cancel !== undefined;
    },
    events: () => [...events],
    logText: (stage, step) => logs.get(`${stage}/${step}`)?.text ?? '',
  };
}

/**
 * A build of `plan` in a fresh memory reporter, with stage `stage` claimed by `runner`:
 * what `runlog exec` and the tests need before `runStage`. The stage must be ready at
 * once (no `depends_on`): a local run takes one pipeline on its own.
 */
export async function createLocalBuild(options: {
  plan: Plan;
  trigger: Trigger;
  repo?: string;
  stage?: number;
  runner?: RunnerRef;
  now?: () => Date;
  hooks?: MemoryReporterHooks;
}): Promise<{ reporter: MemoryReporter; buildId: string; leaseToken: string; attempt: number }> {
  const now = options.now ?? (() => new Date());
  const reporter = createMemoryReporter([], options.hooks);
  const buildId = crypto.randomUUID();
  const text = JSON.stringify(options.plan);
  const sha256 = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  await reporter.command({
    type: 'CreateBuild',
    data: {
      buildId,
      repoId: 'local',
      repo: options.repo ?? 'local/local',
      number: 1,
      trigger: options.trigger,
      config: { path: '.drone.yml', sha256, text },
      plan: options.plan,
      createdBy: 'local',
      at: now().toISOString(),
    },
  });
  const stage = options.stage ?? options.plan.stages[0]?.number ?? 1;
  const leaseToken = crypto.randomUUID();
  const attempt = 1;
  await reporter.command({
    type: 'ClaimStage',
    data: { stage, attempt, runner: options.runner ?? { id: 'local', name: 'local' }, leaseToken, at: now().toISOString() },
  });
  return { reporter, buildId, leaseToken, attempt };
}
