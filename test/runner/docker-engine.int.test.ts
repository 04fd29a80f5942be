import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import { LABEL, networkName, workspaceVolumeName } from '../../src/runner/docker/convert.ts';
import { createDockerEngine } from '../../src/runner/docker/engine.ts';
import type { StageRun } from '../../src/runner/engine.ts';
import { dockerSocket, labelled, recordingDocker, TEST_IMAGE, testDocker } from '../support/docker.ts';
import { collector, engineContract, never, runAll, stageRun, stepOf } from './engine.contract.ts';

const daemon = await testDocker();
const docker = daemon.docker;
/** Each run of this file is its own runner, so sweeping it never touches another test's resources. */
const runner = `test-docker-${randomUUID().slice(0, 8)}`;
const engine = () => createDockerEngine({ docker, runner });
const leftovers = (run: StageRun) => labelled(docker!, `${LABEL.run}=${run.runId}`);

after(async () => {
  if (docker) await createDockerEngine({ docker, runner }).sweep();
});

engineContract({
  name: 'docker',
  skip: daemon.skip,
  engine,
  image: TEST_IMAGE,
  leftovers,
  concurrency: 3, // the daemon's time is mostly waiting (network namespaces, iptables): stages overlap well
  refusedStage: (run) => ({ ...run, stage: { ...run.stage, steps: run.stage.steps.map((s) => ({ ...s, privileged: true })) } }),
});

describe('docker engine', { skip: daemon.skip, concurrency: 3 }, () => {
  const image = TEST_IMAGE;

  it('starts a service that steps reach by its name', async () => {
    const run = stageRun(
      [{ name: 'client', script: 'for i in $(seq 1 50); do wget -qO- http://web:80/index.html && exit 0; sleep 0.1; done; exit 1' }],
      { image, services: [{ name: 'web', script: 'mkdir -p /srv && echo hello from web > /srv/index.html\nexec httpd -f -p 80 -h /srv' }] },
    );
    const e = engine();
    await e.setup(run, never);
    try {
      const service = await e.runStep(run, stepOf(run, 'web'), () => {}, never);
      assert.equal(service.exitCode, 0);
      assert.ok(service.ended);
      const [client] = await runAll(e, run, ['client']);
      assert.equal(client.text, 'hello from web\n');
      assert.equal(client.exit.exitCode, 0);
    } finally {
      await e.destroy(run);
    }
    assert.deepEqual(await leftovers(run), []);
  });

  it('makes no network for a plain stage under the when-needed policy, and still runs it', async () => {
    const e = createDockerEngine({ docker, runner, network: 'when-needed' });
    const run = stageRun([{ name: 'a', script: 'echo plain' }], { image });
    await e.setup(run, never);
    try {
      assert.deepEqual(await docker!.listNetworks({ filters: { label: [`${LABEL.run}=${run.runId}`] } }), []);
      const [a] = await runAll(e, run, ['a']);
      assert.equal(a.text, 'plain\n');
    } finally {
      await e.destroy(run);
    }
    assert.deepEqual(await leftovers(run), []);
  });

  it('labels every container, network and volume with build, stage, run and runner (containers with their step)', async () => {
    const run = stageRun([{ name: 'hold', detach: true, script: 'sleep 30' }], { image, volumes: [{ kind: 'temp', name: 'cache' }] });
    const e = engine();
    await e.setup(run, never);
    try {
      await e.runStep(run, stepOf(run, 'hold'), () => {}, never);
      const want = { [LABEL.build]: run.buildId, [LABEL.stage]: 'test', [LABEL.run]: run.runId, [LABEL.runner]: runner };
      const [container] = await docker!.listContainers({ filters: { label: [`${LABEL.run}=${run.runId}`] } });
      assert.deepEqual(container.Labels, { ...want, [LABEL.step]: 'hold' });
      const network = await docker!.getNetwork(networkName(run)).inspect();
      assert.deepEqual(network.Labels, want);
      const volumes = (await docker!.listVolumes({ filters: { label: [`${LABEL.run}=${run.runId}`] } })).Volumes;
      assert.equal(volumes.length, 2, 'workspace and the temp volume');
      for (const volume of volumes) assert.deepEqual(volume.Labels, want);
    } finally {
      await e.destroy(run);
    }
    assert.deepEqual(await leftovers(run), []);
  });

  it('refuses privileged steps and host volumes on an untrusted repo, before creating anything', async () => {
    const e = engine();
    const privileged = stageRun([{ name: 'root', privileged: true, script: 'true' }], { image });
    await assert.rejects(e.setup(privileged, never), /step root is privileged.*need a trusted repo, and octo\/hello is not trusted/);
    const host = stageRun([{ name: 'h', script: 'true', volumes: [{ name: 'sock', path: '/sock' }] }], {
      image,
      volumes: [{ kind: 'host', name: 'sock', path: '/var/run/docker.sock' }],
    });
    await assert.rejects(e.setup(host, never), /volume sock mounts the host path \/var\/run\/docker\.sock/);
    // and runStep refuses too, should a runner skip setup's check
    await assert.rejects(e.runStep(privileged, stepOf(privileged, 'root'), () => {}, never), /privileged/);
    assert.deepEqual([...(await leftovers(privileged)), ...(await leftovers(host))], []);
  });

  it('mounts host volumes for a trusted repo', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-host-volume-'));
    const run = stageRun([{ name: 'h', script: 'echo from-container > /host/out.txt', volumes: [{ name: 'here', path: '/host' }] }], {
      image,
      trusted: true,
      volumes: [{ kind: 'host', name: 'here', path: dir }],
    });
    const e = engine();
    await e.setup(run, never);
    try {
      const [h] = await runAll(e, run, ['h']);
      assert.equal(h.exit.exitCode, 0, h.text);
      assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'from-container\n');
    } finally {
      await e.destroy(run);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs privileged steps for a trusted repo', async (t) => {
    const run = stageRun([{ name: 'p', privileged: true, script: 'grep CapEff /proc/self/status' }], { image, trusted: true });
    const e = engine();
    await e.setup(run, never);
    try {
      const [p] = await runAll(e, run, ['p']);
      assert.match(p.text, /CapEff:\s+000001ffffffffff|CapEff:\s+0000003fffffffff|CapEff:\s+[0-9a-f]*f{8}/);
    } catch (error) {
      // a daemon inside an unprivileged sandbox cannot grant capabilities it does not have
      if (!/unable to apply caps/.test(String(error))) throw error;
      t.skip('this Docker daemon cannot run privileged containers');
    } finally {
      await e.destroy(run);
    }
  });

  it('runs a local image under if-not-exists, fails clearly on a missing one under never, and never asks for a pull', async () => {
    const recording = recordingDocker();
    const e = createDockerEngine({ docker: recording.docker, runner });
    const missing = `runlog-test/absent:${randomUUID().slice(0, 8)}`;
    const run = stageRun(
      [
        { name: 'here', pull: 'if-not-exists', script: 'echo ok' },
        { name: 'gone', image: missing, pull: 'never', script: 'true' },
        { name: 'broken', entrypoint: ['/no/such/binary'] },
      ],
      { image },
    );
    await e.setup(run, never);
    try {
      const [here] = await runAll(e, run, ['here']);
      assert.equal(here.text, 'ok\n');
      await assert.rejects(e.runStep(run, stepOf(run, 'gone'), () => {}, never), {
        message: `image ${missing} is not on this runner and pull is never`,
      });
      await assert.rejects(e.runStep(run, stepOf(run, 'broken'), () => {}, never), /step broken could not start: .*\/no\/such\/binary/);
    } finally {
      await e.destroy(run);
    }
    assert.deepEqual(recording.paths.filter((path) => path.startsWith('/images/create')), []);
    const absent = (await docker!.listImages()).flatMap((i) => i.RepoTags ?? []).filter((tag) => tag.startsWith('runlog-test/absent'));
    assert.deepEqual(absent, []);
    assert.deepEqual(await leftovers(run), []);
  });

  it('pulls under always (with the registry\'s credentials) and for a missing image under if-not-exists, through a stubbed pull', async () => {
    // no registry is reachable, so dockerode's pull is replaced: it records the call and "pulls" nothing
    const stubbed = new Docker({ socketPath: dockerSocket });
    const pulls: Array<{ image: string; authconfig?: unknown }> = [];
    stubbed.pull = (async (image: string, options: { authconfig?: unknown }) => {
      pulls.push({ image, authconfig: options.authconfig });
      if (image.includes('absent')) throw new Error('manifest unknown');
      return Readable.from([]);
    }) as unknown as Docker['pull'];
    const e = createDockerEngine({ docker: stubbed, runner });
    const run: StageRun = {
      ...stageRun(
        [
          { name: 'fresh', pull: 'always', script: 'echo pulled-then-ran' },
          { name: 'cached', pull: 'if-not-exists', script: 'true' },
          { name: 'absent', image: 'runlog-test/absent:2', pull: 'if-not-exists', script: 'true' },
        ],
        { image },
      ),
      registryAuth: { 'https://index.docker.io/v1/': { username: 'bot', password: 'pw' }, 'ghcr.io': { username: 'x', password: 'y' } },
    };
    await e.setup(run, never);
    try {
      const [fresh, cached] = await runAll(e, run, ['fresh', 'cached']);
      assert.equal(fresh.text, 'pulled-then-ran\n');
      assert.equal(cached.exit.exitCode, 0);
      await assert.rejects(e.runStep(run, stepOf(run, 'absent'), () => {}, never), {
        message: 'pulling image runlog-test/absent:2 failed: manifest unknown',
      });
    } finally {
      await e.destroy(run);
    }
    assert.deepEqual(pulls, [
      { image, authconfig: { username: 'bot', password: 'pw', serveraddress: 'https://index.docker.io/v1/' } },
      { image: 'runlog-test/absent:2', authconfig: { username: 'bot', password: 'pw', serveraddress: 'https://index.docker.io/v1/' } },
    ]);
  });

  it('mounts temp volumes (memory ones as tmpfs), runs as the step user, adds extra hosts', async () => {
    const run = stageRun(
      [
        { name: 'write', script: 'echo cached > /cache/x\ngrep " /scratch " /proc/mounts | cut -d" " -f3', volumes: [{ name: 'cache', path: '/cache' }, { name: 'mem', path: '/scratch' }] },
        { name: 'read', user: 'nobody', extraHosts: ['db.internal:10.9.8.7'], script: 'cat /cache/x\nid -u\ngrep db.internal /etc/hosts | cut -f1', volumes: [{ name: 'cache', path: '/cache' }] },
      ],
      { image, volumes: [{ kind: 'temp', name: 'cache' }, { kind: 'temp', name: 'mem', medium: 'memory' }] },
    );
    const e = engine();
    await e.setup(run, never);
    try {
      const [write, read] = await runAll(e, run, ['write', 'read']);
      assert.equal(write.text, 'tmpfs\n');
      assert.equal(read.text, 'cached\n65534\n10.9.8.7\n');
    } finally {
      await e.destroy(run);
    }
    assert.deepEqual(await leftovers(run), []);
  });

  it('runs a script too big for the environment, and a step run again (a retry) in place of its old container', async () => {
    const big = `${'# padding to push the script past the size an environment variable may have\n'.repeat(1200)}echo big-script-ran`;
    assert.ok(Buffer.byteLength(big) > 64 * 1024);
    const run = stageRun([{ name: 'big', script: big }], { image });
    const e = engine();
    await e.setup(run, never);
    try {
      const [first, again] = await runAll(e, run, ['big', 'big']);
      assert.equal(first.text, 'big-script-ran\n');
      assert.equal(again.text, 'big-script-ran\n');
    } finally {
      await e.destroy(run);
    }
    assert.deepEqual(await leftovers(run), []);
  });

  it('keeps the workspace volume when asked, for a resumed attempt to reuse', async () => {
    const first = stageRun([{ name: 'write', script: 'echo kept > state.txt' }], { image });
    const e = engine();
    await e.setup(first, never);
    try {
      await runAll(e, first, ['write']);
    } finally {
      await e.destroy(first, { keepWorkspace: true });
    }
    assert.deepEqual(await leftovers(first), [`volume ${workspaceVolumeName(first)}`]);
    const second: StageRun = { ...stageRun([{ name: 'read', script: 'cat state.txt' }], { image }), workspaceKey: first.runId };
    await e.setup(second, never);
    try {
      const [read] = await runAll(e, second, ['read']);
      assert.equal(read.text, 'kept\n');
    } finally {
      await e.destroy(second);
    }
    assert.deepEqual(await leftovers(first), []);
  });

  it('sweep removes a stage whose engine was dropped mid-run', async () => {
    const crashed = `test-crashed-${randomUUID().slice(0, 8)}`;
    const run = stageRun([{ name: 'hold', detach: true, script: 'sleep 60' }], { image, services: [{ name: 'svc', script: 'sleep 60' }] });
    {
      const lost = createDockerEngine({ docker, runner: crashed });
      await lost.setup(run, never);
      await lost.runStep(run, stepOf(run, 'svc'), () => {}, never);
      await lost.runStep(run, stepOf(run, 'hold'), () => {}, never);
    } // the engine object is dropped without destroy, as a crash would
    assert.equal((await labelled(docker!, `${LABEL.runner}=${crashed}`)).length, 4);
    const removed = await createDockerEngine({ docker, runner: 'someone-else' }).sweep({ runner: crashed });
    assert.equal(removed.length, 4, removed.join(', '));
    assert.deepEqual(await labelled(docker!, `${LABEL.runner}=${crashed}`), []);
  });

  it('sweep removes what a runner killed with kill -9 left running', async () => {
    const crashed = `test-killed-${randomUUID().slice(0, 8)}`;
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'docker-crash.child.ts'), crashed], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    const out = collector();
    child.stdout.on('data', (chunk: Buffer) => out.output(chunk));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await out.waitFor('step running', 30_000);
    child.kill('SIGKILL');
    await exited;
    const left = await labelled(docker!, `${LABEL.runner}=${crashed}`);
    assert.equal(left.length, 3, `container, network and workspace left by the killed runner: ${left.join(', ')}`);
    const [container] = await docker!.listContainers({ filters: { label: [`${LABEL.runner}=${crashed}`] } });
    assert.equal(container.State, 'running', 'its step outlived it');
    await createDockerEngine({ docker, runner: crashed }).sweep();
    assert.deepEqual(await labelled(docker!, `${LABEL.runner}=${crashed}`), []);
  });
});
