import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compile } from '../../src/pipeline/compile.ts';
import { buildContext } from './build-context.ts';

/** `.drone.yml`'s image build step: `image: runlog/build` with plugins/docker's settings becomes the plan's `build`. */
describe('the runlog/build step of a .drone.yml', () => {
  test('given repo, tags, dockerfile, context and secret credentials, then an image build step, no PLUGIN_ variables', () => {
    const yaml = `kind: pipeline
steps:
- name: publish
  image: runlog/build
  settings:
    repo: 127.0.0.1:5000/acme/web
    tags: [latest, "1.0"]
    dockerfile: docker/Dockerfile
    context: app
    username: { from_secret: reg_user }
    password: { from_secret: reg_pass }
`;
    const { plan, diagnostics } = compile(yaml, buildContext());
    assert.deepEqual(diagnostics, []);
    const step = plan!.stages[0].steps[1];
    assert.deepEqual(step.build, { context: 'app', dockerfile: 'docker/Dockerfile', repo: '127.0.0.1:5000/acme/web', tags: ['latest', '1.0'], push: true });
    assert.equal(step.image, '');
    assert.equal(step.privileged, false);
    assert.deepEqual(step.environment.REGISTRY_USERNAME, { secret: 'reg_user' });
    assert.deepEqual(step.environment.REGISTRY_PASSWORD, { secret: 'reg_pass' });
    assert.equal(Object.keys(step.environment).some((key) => key.startsWith('PLUGIN_')), false);
    assert.deepEqual(plan!.stages[0].secrets, ['reg_pass', 'reg_user']);
  });

  test('given defaults and dry_run, then the context is the workspace, the tag latest, and nothing pushed', () => {
    const { plan } = compile('kind: pipeline\nsteps:\n- name: b\n  image: runlog/build\n  settings:\n    repo: acme/web\n    dry_run: true\n', buildContext());
    assert.deepEqual(plan!.stages[0].steps[1].build, { context: '.', dockerfile: 'Dockerfile', repo: 'acme/web', tags: ['latest'], push: false });
  });

  test('given no repo or a clear-text password, then errors at their line', () => {
    const missing = compile('kind: pipeline\nsteps:\n- name: b\n  image: runlog/build\n  settings:\n    tags: [x]\n', buildContext());
    assert.deepEqual(missing.diagnostics.map((d) => `${d.line}: ${d.severity}: ${d.message}`), ['6: error: steps[0].settings: repo: required: the image to build, host:port/owner/name (runlog/build)']);
    const clear = compile('kind: pipeline\nsteps:\n- name: b\n  image: runlog/build\n  settings:\n    repo: a/b\n    username: u\n    password: hunter2\n', buildContext());
    assert.deepEqual(clear.diagnostics.map((d) => d.line), [7, 8]);
    assert.equal(clear.plan, undefined);
  });
});
