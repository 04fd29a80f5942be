// Build histories for the audit tests, decided command by command by the real decider, each
// command's events with the metadata the server records (actor for people and the reaper,
// runnerId for runners). Cover the whole lifecycle an auditor asks about: a failure that
// skips its dependent, a cancel, a timeout, an inactive stage, a lost runner requeued and
// run elsewhere, a lease lost past the attempt limit, a retry and a resume, a blocked build
// approved, one declined.
import { BuildCommand, type BuildCommandInput } from '../../src/events/build-commands.ts';
import { decide } from '../../src/events/build-decider.ts';
import { buildStreamId, type BuildEvent } from '../../src/events/build-events.ts';
import { evolve, initialState, type BuildState } from '../../src/events/build-state.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { repoStreamId, RepoSettings, type RepoEvent } from '../../src/events/repo-events.ts';
import { eventHash, GENESIS_HASH } from '../../src/events/hash-chain.ts';
import type { HistoryEvent } from '../../src/audit/history-event.ts';
import { cmd, lease, planOf, runner, runStage, t } from '../events/fixtures.ts';

export interface Append {
  readonly events: ReadonlyArray<BuildEvent | RepoEvent>;
  readonly metadata: Record<string, string>;
}

export interface AuditHistory {
  readonly streamId: string;
  readonly appends: readonly Append[];
}

export const buildId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function metadataOf(input: BuildCommandInput): Record<string, string> {
  const data = input.data as { runner?: { id: string }; leaseToken?: string | null; by?: string; createdBy?: string };
  if (input.type === 'ExpireLease') return { actor: 'system:reaper' };
  if (typeof data.leaseToken === 'string') {
    // The lease token names the runner in these fixtures: lease-<stage>-<attempt>, runner-<attempt> by default.
    const attempt = Number(/-(\d+)$/.exec(data.leaseToken ?? '')?.[1] ?? 1);
    return { runnerId: data.runner?.id ?? `runner-${attempt}` };
  }
  if (data.leaseToken === null) return { actor: 'system:reaper' };
  return { actor: `user:${data.by ?? data.createdBy ?? 'alice'}` };
}

function decided(n: number, commands: BuildCommandInput[]): AuditHistory {
  let state: BuildState = initialState();
  const appends = commands.map((input) => {
    const events = decide(BuildCommand.parse(input), state);
    for (const event of events) state = evolve(state, event);
    return { events, metadata: metadataOf(input) };
  });
  return { streamId: buildStreamId(buildId(n)), appends };
}

export function auditHistories(): AuditHistory[] {
  const create = (n: number, plan: ReturnType<typeof planOf>, extra: Record<string, unknown> = {}) =>
    cmd.create(plan, { buildId: buildId(n), repoId: n % 2 === 0 ? 'repo-2' : 'repo-1', repo: n % 2 === 0 ? 'octo/two' : 'octo/one', number: Math.ceil(n / 2), ...extra });
  const chain = planOf({ name: 'build', steps: [{ name: 'compile' }, { name: 'test' }] }, { name: 'lint' }, { name: 'deploy', dependsOn: ['build', 'lint'] });
  const single = planOf({ name: 'default', steps: [{ name: 'a' }, { name: 'b' }] });
  const retrying = planOf({ name: 'flaky', steps: [{ name: 'a', retry: { limit: 2 } }, { name: 'b', failure: 'ignore' }] });
  return [
    // 1 (octo/one#1): build fails its test step; deploy (needs build and lint) is skipped; lint passes.
    decided(1, [create(1, chain), ...runStage(1, 2, 10, [0, 2]), ...runStage(2, 1, 20)]),
    // 2 (octo/two#1): cancelled while stage 1 runs; the queued stage ends at once.
    decided(2, [create(2, chain), cmd.claim(1, t(5)), cmd.start(1, t(6)), cmd.startStep(1, 1, t(7)), cmd.cancel(t(8)), cmd.cancelStage(1, t(9))]),
    // 3 (octo/one#2): runner lost: lease expired, requeued as attempt 2, run by runner 2 to the end.
    decided(3, [
      create(3, single),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.startStep(1, 1, t(3)),
      cmd.expire(1, t(90)),
      cmd.claim(1, t(91), 2, runner(2), lease(1, 2)),
      cmd.start(1, t(92), lease(1, 2)),
      cmd.startStep(1, 1, t(93), lease(1, 2)),
      cmd.finishStep(1, 1, t(94), 0, lease(1, 2)),
      cmd.startStep(1, 2, t(95), lease(1, 2)),
      cmd.finishStep(1, 2, t(96), 0, lease(1, 2)),
      cmd.finishStage(1, t(97), lease(1, 2)),
    ]),
    // 4 (octo/two#2): blocked, approved, stage 2 running.
    decided(4, [create(4, chain, { block: 'protected' }), cmd.approve(t(3)), cmd.claim(2, t(4)), cmd.start(2, t(5)), cmd.startStep(2, 1, t(6))]),
    // 5 (octo/one#3): timed out by the reaper an hour after it started.
    decided(5, [create(5, single), cmd.claim(1, t(10)), cmd.start(1, t(11)), cmd.startStep(1, 1, t(12)), cmd.finishStep(1, 1, t(20)), cmd.startStep(1, 2, t(21)), cmd.timeOut(1, t(11 + 3600), null)]),
    // 6 (octo/two#3): declined.
    decided(6, [create(6, chain, { block: 'fork' }), cmd.decline(t(2))]),
    // 7 (octo/one#4): inactive: no activity for 15 minutes, stopped by its runner.
    decided(7, [create(7, single), cmd.claim(1, t(30)), cmd.start(1, t(31)), cmd.startStep(1, 1, t(32)), cmd.inactive(1, t(32 + 900), t(32), 900)]),
    // 8 (octo/two#4): a retried step, a lost runner, resumed on a kept workspace, finished.
    decided(8, [
      create(8, retrying),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.startStep(1, 1, t(3)),
      cmd.retryStep(1, 1, 1, 1, t(4)),
      cmd.finishStep(1, 1, t(5), 0),
      cmd.expire(1, t(60)),
      cmd.claim(1, t(61), 2, runner(2), lease(1, 2)),
      cmd.resume(1, t(62), 2, 'kept', lease(1, 2)),
      cmd.startStep(1, 2, t(63), lease(1, 2)),
      cmd.finishStep(1, 2, t(64), 3, lease(1, 2)),
      cmd.finishStage(1, t(65), lease(1, 2)),
    ]),
    // 9 (octo/one#5): runner lost with one attempt allowed: the stage errors, the build ends.
    decided(9, [create(9, single), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.expire(1, t(100), lease(1), 1)]),
  ];
}

export function auditRepoHistories(): AuditHistory[] {
  const activated = (repoId: string, owner: string, name: string): RepoEvent => ({
    type: 'RepoActivated',
    data: { repoId, owner, name, settings: RepoSettings.parse({ cloneUrl: `https://example.test/${owner}/${name}.git`, visibility: 'public' }), by: 'admin', at: t(0) },
  });
  return [
    { streamId: repoStreamId('repo-1'), appends: [{ events: [activated('repo-1', 'octo', 'one')], metadata: { actor: 'user:admin' } }] },
    { streamId: repoStreamId('repo-2'), appends: [{ events: [activated('repo-2', 'octo', 'two')], metadata: { actor: 'user:admin' } }] },
  ];
}

export interface AppendedEvent {
  readonly streamId: string;
  readonly checkpoint: { transactionId: string; globalPosition: string };
}

/**
 * Appends every history round-robin, so streams interleave in the log as concurrent builds
 * do: one append per command, or one per event with `oneEventPerAppend` (so every position
 * is a moment the projections can show). Calls `afterEach` after every append.
 */
export async function appendAll(
  store: EventStore,
  all: readonly AuditHistory[],
  options: { oneEventPerAppend?: boolean; afterEach?: (appended: AppendedEvent) => Promise<void> } = {},
): Promise<void> {
  const versions = new Map<string, number>();
  const queues = all.map((history) => ({
    streamId: history.streamId,
    appends: options.oneEventPerAppend ? history.appends.flatMap((a) => a.events.map((event) => ({ events: [event], metadata: a.metadata }))) : [...history.appends],
  }));
  const longest = Math.max(...queues.map((q) => q.appends.length));
  for (let i = 0; i < longest; i++) {
    for (const queue of queues) {
      const append = queue.appends[i];
      if (!append) continue;
      const result = await store.append(queue.streamId, versions.get(queue.streamId) ?? 0, append.events.map((e) => ({ type: e.type, data: e.data })), append.metadata);
      versions.set(queue.streamId, result.streamVersion);
      await options.afterEach?.({ streamId: queue.streamId, checkpoint: { transactionId: result.transactionId, globalPosition: result.globalPositions.at(-1)! } });
    }
  }
}

/**
 * A history as stored events would be, without a database: versions from 1, positions
 * from `firstPosition` (or spaced by `positionStep`), the hash chain computed as the store does.
 */
export function storedHistory(history: AuditHistory, options: { firstPosition?: number; positionStep?: number; recordedAt?: string } = {}): HistoryEvent[] {
  let prevHash = GENESIS_HASH;
  let version = 0;
  let position = options.firstPosition ?? 1;
  const out: HistoryEvent[] = [];
  for (const append of history.appends) {
    for (const event of append.events) {
      version += 1;
      const content = { streamId: history.streamId, streamVersion: version, type: event.type, data: event.data, metadata: append.metadata };
      const hash = eventHash(prevHash, content);
      out.push({
        position: String(position),
        streamId: history.streamId,
        version,
        type: event.type,
        data: JSON.parse(JSON.stringify(event.data)),
        metadata: append.metadata,
        recordedAt: options.recordedAt ?? (event.data as { at: string }).at,
        prevHash,
        hash,
      });
      prevHash = hash;
      position += options.positionStep ?? 1;
    }
  }
  return out;
}
