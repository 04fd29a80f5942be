import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runlog } from './run-cli.ts';

/** `runlog lint` and `runlog plan` on caicloud.yml files, by name and by content, as a user runs them. */
describe('runlog lint and plan read caicloud.yml', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runlog-caicloud-cli-'));
    await writeFile(join(dir, 'caicloud.yml'), 'pre_build:\n  image: busybox\nbuild: {}\nintegration:\n  image: busybox\n  services:\n    app:\n      image: BUILT_IMAGE\n');
    await writeFile(join(dir, 'ci.yml'), 'pre_build:\n  image: busybox\n  commands: [make]\nbuild:\n  context_dir: .\npostbuild:\n  image: x\n');
    await writeFile(join(dir, 'good.yml'), 'build:\n  dockerfile_name: Dockerfile\npost_build:\n  image: busybox\n  commands: [echo hi]\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('given errors, then each at its line, exit 1', () => {
    const byName = runlog(['lint', 'caicloud.yml'], dir);
    assert.equal(byName.code, 1);
    assert.equal(byName.stdout, 'caicloud.yml:3:1: error: build: needs context_dir or dockerfile_name (or both): where the Dockerfile is\n');
    const byContent = runlog(['lint', 'ci.yml'], dir);
    assert.equal(byContent.code, 1);
    assert.equal(byContent.stdout, "ci.yml:6:1: error: unknown stage 'postbuild': a caicloud.yml has pre_build, build, integration, post_build, deploy\n");
  });

  it('given a good file and a registry, then the plan pushes there', () => {
    const plan = runlog(['plan', 'good.yml', '--json', '--registry', '127.0.0.1:5000', '--repo', 'acme/web', '--commit', 'abc1234'], dir);
    assert.equal(plan.code, 0, plan.stderr);
    const build = JSON.parse(plan.stdout).stages[0].steps.find((s: { name: string }) => s.name === 'build');
    assert.deepEqual(build.build, { context: '.', dockerfile: 'Dockerfile', repo: '127.0.0.1:5000/acme/web', tags: ['abc1234', 'latest'], push: true });
  });
});
