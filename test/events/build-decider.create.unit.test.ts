import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BuildCommand } from '../../src/events/build-commands.ts';
import type { BuildEvent } from '../../src/events/build-events.ts';
import { buildStreamId } from '../../src/events/build-events.ts';
import type { Build } from '../../src/events/build-state.ts';
import { given, history } from './decider-spec.ts';
import { cmd, planOf, t } from './fixtures.ts';

/** The BuildCreated that `cmd.create(plan, extra)` records. */
function created(plan: ReturnType<typeof planOf> | undefined, extra: Record<string, unknown> = {}): BuildEvent {
  const { data } = BuildCommand.parse(cmd.create(plan, extra)) as { data: Record<string, unknown> };
  const { block: _block, ...rest } = data;
  return { type: 'BuildCreated', data: rest } as BuildEvent;
}

const two = planOf({ name: 'build' }, { name: 'test', dependsOn: ['build'] });

describe('CreateBuild', () => {
  it('names the stream after the build id', () => {
    assert.equal(buildStreamId('abc'), 'build-abc');
  });

  it('records the build and queues every stage without dependencies', () => {
    const plan = planOf({ name: 'lint' }, { name: 'unit' }, { name: 'deploy', dependsOn: ['lint', 'unit'] });
    given()
      .when(cmd.create(plan))
      .then([
        created(plan),
        { type: 'StageQueued', data: { stage: 1, attempt: 1, at: t(0) } },
        { type: 'StageQueued', data: { stage: 2, attempt: 1, at: t(0) } },
      ]);
  });

  it('skips the stages the trigger excluded and rewires their dependents (Drone dag.Dependencies)', () => {
    const skip = { condition: 'branch', reason: "branch 'main' does not match include [release/*]" };
    const plan = planOf({ name: 'build' }, { name: 'publish', dependsOn: ['build'], skip }, { name: 'notify', dependsOn: ['publish'] });
    const state = given()
      .when(cmd.create(plan))
      .then([
        created(plan),
        { type: 'StageSkipped', data: { stage: 2, reason: skip, at: t(0) } },
        { type: 'StageQueued', data: { stage: 1, attempt: 1, at: t(0) } },
      ]);
    assert.equal(state.status, 'pending');
    // notify waits for build (publish's dependency), not for nothing.
    assert.deepEqual(
      (state as Build).stages.map((s) => s.status),
      ['pending', 'skipped', 'waiting'],
    );
  });

  it('queues a stage whose only dependency the trigger skipped', () => {
    const skip = { condition: 'event', reason: 'event push does not match include [tag]' };
    const plan = planOf({ name: 'release', skip }, { name: 'announce', dependsOn: ['release'] });
    given()
      .when(cmd.create(plan))
      .then([
        created(plan),
        { type: 'StageSkipped', data: { stage: 1, reason: skip, at: t(0) } },
        { type: 'StageQueued', data: { stage: 2, attempt: 1, at: t(0) } },
      ]);
  });

  it('finishes at once as success when the trigger skipped every stage', () => {
    const skip = { condition: 'event', reason: 'no' };
    const plan = planOf({ name: 'only', skip });
    given()
      .when(cmd.create(plan))
      .then([
        created(plan),
        { type: 'StageSkipped', data: { stage: 1, reason: skip, at: t(0) } },
        { type: 'BuildFinished', data: { status: 'success', at: t(0) } },
      ]);
  });

  it('ends in error when the config did not compile, keeping the compile error', () => {
    const error = '.drone.yml:3:7: steps[0].image is required';
    given()
      .when(cmd.create(undefined, { error }))
      .then([created(undefined, { error }), { type: 'BuildFinished', data: { status: 'error', at: t(0) } }]);
  });

  it('ends in error on a dependency cycle, as Drone does, without storing the plan', () => {
    const plan = planOf({ name: 'a', dependsOn: ['b'] }, { name: 'b', dependsOn: ['a'] });
    const events = given().when(cmd.create(plan)).events();
    assert.equal(events[0]!.type, 'BuildCreated');
    const data = events[0]!.data as { plan?: unknown; error?: string };
    assert.equal(data.plan, undefined);
    assert.equal(data.error, 'Error: Dependency cycle detected in Pipeline');
    assert.deepEqual(events[1], { type: 'BuildFinished', data: { status: 'error', at: t(0) } });
  });

  it('ends in error on a dependency that does not exist', () => {
    const events = given().when(cmd.create(planOf({ name: 'a', dependsOn: ['ghost'] }))).events();
    assert.match((events[0]!.data as { error: string }).error, /depends on 'ghost', which does not exist/);
    assert.equal(events.at(-1)!.type, 'BuildFinished');
  });

  it('blocks instead of queueing when the command says so', () => {
    const state = given()
      .when(cmd.create(two, { block: 'protected' }))
      .then([created(two), { type: 'BuildBlocked', data: { reason: 'protected', at: t(0) } }]);
    assert.equal(state.status, 'blocked');
    assert.deepEqual((state as Build).stages.map((s) => s.status), ['blocked', 'blocked']);
  });

  it('does not block a build with nothing to run', () => {
    const skip = { condition: 'event', reason: 'no' };
    const plan = planOf({ name: 'only', skip });
    const events = given().when(cmd.create(plan, { block: 'fork' })).events();
    assert.deepEqual(events.map((e) => e.type), ['BuildCreated', 'StageSkipped', 'BuildFinished']);
  });

  it('records parent and creator', () => {
    const events = given().when(cmd.create(two, { parent: 6, createdBy: 'api:bob' })).events();
    assert.equal((events[0]!.data as { parent: number }).parent, 6);
    assert.equal((events[0]!.data as { createdBy: string }).createdBy, 'api:bob');
  });

  it('refuses to create a build twice', () => {
    given(history(cmd.create(two))).when(cmd.create(two)).thenThrows('build_exists', 409);
  });
});

describe('ApproveBuild / DeclineBuild', () => {
  const blocked = () => history(cmd.create(two, { block: 'protected' }));

  it('approving queues the stages that are ready', () => {
    const state = given(blocked())
      .when(cmd.approve(t(5)))
      .then([
        { type: 'BuildApproved', data: { by: 'bob', at: t(5) } },
        { type: 'StageQueued', data: { stage: 1, attempt: 1, at: t(5) } },
      ]);
    assert.equal(state.status, 'pending');
    assert.deepEqual((state as Build).stages.map((s) => s.status), ['pending', 'waiting']);
  });

  it('declining ends the build as declined', () => {
    const state = given(blocked())
      .when(cmd.decline(t(5)))
      .then([
        { type: 'BuildDeclined', data: { by: 'bob', at: t(5) } },
        { type: 'BuildFinished', data: { status: 'declined', at: t(5) } },
      ]);
    assert.equal(state.status, 'declined');
    assert.deepEqual((state as Build).stages.map((s) => s.status), ['declined', 'declined']);
  });

  it('refuses to approve or decline a build that is not blocked', () => {
    given(history(cmd.create(two))).when(cmd.approve()).thenThrows('build_not_blocked', 409);
    given(history(cmd.create(two))).when(cmd.decline()).thenThrows('build_not_blocked', 409);
  });

  it('refuses to approve twice, or a running build', () => {
    const approved = [...blocked(), ...given(blocked()).when(cmd.approve(t(5))).events()];
    given(approved).when(cmd.approve(t(6))).thenThrows('build_not_blocked');
    const running = history(cmd.create(two), cmd.claim(1, t(1)), cmd.start(1, t(2)));
    given(running).when(cmd.approve(t(3))).thenThrows('build_not_blocked', 409);
  });

  it('refuses to approve a declined build', () => {
    const declined = given(blocked()).when(cmd.decline(t(5))).events();
    given(blocked(), declined).when(cmd.approve(t(6))).thenThrows('build_finished', 409);
  });

  it('refuses any command for a build that does not exist', () => {
    given().when(cmd.approve()).thenThrows('build_not_found', 404);
    given().when(cmd.claim(1, t(1))).thenThrows('build_not_found', 404);
    given().when(cmd.cancel(t(1))).thenThrows('build_not_found', 404);
  });

  it('claims are refused while the build is blocked', () => {
    given(blocked()).when(cmd.claim(1, t(2))).thenThrows('stage_not_pending');
  });
});
