import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given, history } from './decider-spec.ts';
import { cmd, lease, planOf, t } from './fixtures.ts';
import type { BuildCommandInput } from '../../src/events/build-commands.ts';

// What a step did outside the build (issue 9): an image pushed, a deployment updated or not.
// Only the step that did it, while it runs and under its stage's lease, may record it; the
// record changes nothing in the build (its status stays the step's own exit).
const one = planOf({ name: 'default', steps: [{ name: 'clone' }, { name: 'build' }, { name: 'deploy' }] });
const stepRunning = () => history(cmd.create(one), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.startStep(1, 2, t(3)));

const DIGEST = `sha256:${'d'.repeat(64)}`;
const publish = (step: number, leaseToken = lease(1)): BuildCommandInput => ({
  type: 'PublishImage',
  data: { stage: 1, step, repo: 'r:5000/octo/hello', tags: ['c0ffee', 'latest'], digest: DIGEST, leaseToken, at: t(4) },
});
const deployment = { cluster: 'prod', namespace: 'web', deployment: 'hello', containers: ['hello'], image: 'r:5000/octo/hello:c0ffee' };
const record = (extra: Record<string, unknown> = {}): BuildCommandInput =>
  ({ type: 'RecordDeployment', data: { stage: 1, step: 2, ...deployment, leaseToken: lease(1), at: t(4), ...extra } }) as BuildCommandInput;

describe('PublishImage', () => {
  it('given a running step, then ImagePublished with the repo, tags and digest, and the build unchanged', () => {
    const before = given(stepRunning());
    const after = before
      .when(publish(2))
      .then([{ type: 'ImagePublished', data: { stage: 1, step: 2, repo: 'r:5000/octo/hello', tags: ['c0ffee', 'latest'], digest: DIGEST, at: t(4) } }]);
    assert.deepEqual(after, before.state, 'a record changes nothing in the build');
  });

  it('refuses a step that is not running, another lease, and a finished build', () => {
    given(stepRunning()).when(publish(3)).thenThrows('step_not_running', 409);
    given(stepRunning()).when(publish(2, 'lease-of-someone-else')).thenThrows('stale_lease', 403);
    const ended = history(cmd.create(one), cmd.claim(1, t(1)), cmd.start(1, t(2)), cmd.finishStage(1, t(3)));
    given(ended).when(publish(2)).thenThrows('build_finished');
  });
});

describe('RecordDeployment', () => {
  it('given no error, then DeploymentUpdated with the generation that rolled out', () => {
    given(stepRunning())
      .when(record({ generation: 5 }))
      .then([{ type: 'DeploymentUpdated', data: { stage: 1, step: 2, ...deployment, generation: 5, at: t(4) } }]);
  });

  it('given an error, then DeploymentFailed saying it, and no generation', () => {
    given(stepRunning())
      .when(record({ error: 'PATCH /apis/apps/v1/namespaces/web/deployments/hello: the cluster refused the token (401: Unauthorized)', generation: 5 }))
      .then([
        {
          type: 'DeploymentFailed',
          data: { stage: 1, step: 2, ...deployment, error: 'PATCH /apis/apps/v1/namespaces/web/deployments/hello: the cluster refused the token (401: Unauthorized)', at: t(4) },
        },
      ]);
  });

  it('refuses a step that is not running', () => {
    given(stepRunning()).when(record({ step: 1 })).thenThrows('step_not_running', 409);
  });
});
