// Realistic build histories for the projector's integration tests: decided command by
// command by the real decider, each command's events one append (as the server does).
import { BuildCommand, type BuildCommandInput } from '../../src/events/build-commands.ts';
import { decide } from '../../src/events/build-decider.ts';
import { buildStreamId, type BuildEvent } from '../../src/events/build-events.ts';
import { evolve, initialState, type BuildState } from '../../src/events/build-state.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { repoStreamId, RepoSettings, type RepoEvent } from '../../src/events/repo-events.ts';
import { cmd, lease, planOf, runner, runStage, t } from '../events/fixtures.ts';

export interface History {
  readonly streamId: string;
  /** One entry per command: the events it appended. */
  readonly appends: ReadonlyArray<ReadonlyArray<BuildEvent | RepoEvent>>;
}

function decidedAs(buildId: string, commands: BuildCommandInput[]): History {
  let state: BuildState = initialState();
  const appends = commands.map((input) => {
    const events = decide(BuildCommand.parse(input), state);
    for (const event of events) state = evolve(state, event);
    return events;
  });
  return { streamId: buildStreamId(buildId), appends };
}

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/**
 * Builds of two repos covering the lifecycle: a multi-stage build whose failed stage skips
 * its dependent, a cancelled one, one whose runner was lost (lease expired, requeued, run
 * by another runner), one blocked then approved and left running, one with a retried step
 * and a resumed stage, one still queued, one declined. `round` shifts ids and numbers, so
 * several rounds make a bigger log.
 */
export function histories(round = 0): History[] {
  // Round r: builds 7r+1..7r+7; numbers continue per repo.
  const create = (n: number, plan: ReturnType<typeof planOf>, extra: Record<string, unknown> = {}) =>
    cmd.create(plan, {
      buildId: id(round * 7 + n),
      repoId: n % 2 === 0 ? 'repo-2' : 'repo-1',
      repo: n % 2 === 0 ? 'octo/two' : 'octo/one',
      number: round * 4 + Math.ceil(n / 2),
      ...extra,
    });
  const decided = (n: number, commands: BuildCommandInput[]) => decidedAs(id(round * 7 + n), commands);
  const chain = planOf({ name: 'build', steps: [{ name: 'compile' }, { name: 'test' }] }, { name: 'lint' }, { name: 'deploy', dependsOn: ['build', 'lint'] });
  const labelled = planOf({ name: 'arm', services: ['redis'] }, { name: 'notify', dependsOn: ['arm'], runsOn: ['success', 'failure'] });
  labelled.stages[0]!.labels = { arch: 'arm64', gpu: 'yes' };
  labelled.stages[0]!.platform = { ...labelled.stages[0]!.platform, arch: 'arm64' };
  labelled.stages[0]!.concurrency = { limit: 1 };
  const retrying = planOf({ name: 'flaky', steps: [{ name: 'a', retry: { limit: 2 } }, { name: 'b', failure: 'ignore' }] });
  return [
    // 1: build fails its first stage; deploy (needs build and lint) is skipped; lint runs.
    decided(1, [create(1, chain), ...runStage(1, 2, 10, [0, 2]), ...runStage(2, 1, 20)]),
    // 2: cancelled while stage 1 runs: the runner reports, the queued stage ends at once.
    decided(2, [create(2, chain), cmd.claim(1, t(5)), cmd.start(1, t(6)), cmd.startStep(1, 1, t(7)), cmd.cancel(t(8)), cmd.cancelStage(1, t(9))]),
    // 3: runner lost: lease expired, requeued as attempt 2, run by runner 2 to the end.
    decided(3, [
      create(3, labelled),
      cmd.claim(1, t(1)),
      cmd.start(1, t(2)),
      cmd.startStep(1, 1, t(3)),
      cmd.expire(1, t(90)),
      cmd.claim(1, t(91), 2, runner(2), lease(1, 2)),
      cmd.start(1, t(92), lease(1, 2)),
      cmd.startStep(1, 1, t(93), lease(1, 2)),
      cmd.finishStep(1, 1, t(94), 0, lease(1, 2)),
      cmd.startStep(1, 2, t(95), lease(1, 2)),
      cmd.finishStep(1, 2, t(96), 1, lease(1, 2)),
      cmd.finishStage(1, t(97), lease(1, 2)),
      ...runStage(2, 1, 100),
    ]),
    // 4: blocked, approved, stage 1 running, stage 3 waiting.
    decided(4, [create(4, chain, { block: 'protected' }), cmd.approve(t(3)), cmd.claim(2, t(4)), cmd.start(2, t(5)), cmd.startStep(2, 1, t(6))]),
    // 5: a retried step, a lost runner, resumed on a kept workspace, finished.
    decided(5, [
      create(5, retrying),
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
    // 6: just created: two stages queued, one waiting.
    decided(6, [create(6, chain)]),
    // 7: declined.
    decided(7, [create(7, chain, { block: 'fork' }), cmd.decline(t(2))]),
  ];
}

export function repoHistories(): History[] {
  const activated = (repoId: string, owner: string, name: string): RepoEvent => ({
    type: 'RepoActivated',
    data: { repoId, owner, name, settings: RepoSettings.parse({ cloneUrl: `https://example.test/${owner}/${name}.git` }), by: 'admin', at: t(0) },
  });
  return [
    {
      streamId: repoStreamId('repo-1'),
      appends: [[activated('repo-1', 'octo', 'one')], [{ type: 'RepoUpdated', data: { repoId: 'repo-1', changes: { timeout: 30, trusted: true }, by: 'admin', at: t(1) } }]],
    },
    {
      streamId: repoStreamId('repo-2'),
      appends: [[activated('repo-2', 'octo', 'two')], [{ type: 'RepoDeactivated', data: { repoId: 'repo-2', by: 'admin', at: t(2) } }], [activated('repo-2', 'octo', 'two')]],
    },
  ];
}

/**
 * Appends every history's commands round-robin (one append per command, expected version
 * checked), so streams interleave in the log the way concurrent builds do. Calls
 * `afterEach` after every append; returns the last append's checkpoint.
 */
export async function appendInterleaved(store: EventStore, all: readonly History[], afterEach?: () => Promise<void>) {
  const versions = new Map<string, number>();
  let last: { transactionId: string; globalPosition: string } | undefined;
  const longest = Math.max(...all.map((h) => h.appends.length));
  for (let i = 0; i < longest; i++) {
    for (const history of all) {
      const events = history.appends[i];
      if (!events || events.length === 0) continue;
      const version = versions.get(history.streamId) ?? 0;
      const result = await store.append(history.streamId, version, events.map((e) => ({ type: e.type, data: e.data })));
      versions.set(history.streamId, result.streamVersion);
      last = { transactionId: result.transactionId, globalPosition: result.globalPositions.at(-1)! };
      await afterEach?.();
    }
  }
  return last!;
}

/** Each build's state after all its events, by build id. */
export function finalStates(all: readonly History[]): Map<string, BuildState> {
  return new Map(
    all
      .filter((h) => h.streamId.startsWith('build-'))
      .map((h) => [h.streamId.slice('build-'.length), h.appends.flat().reduce<BuildState>((s, e) => evolve(s, e as BuildEvent), initialState())]),
  );
}
