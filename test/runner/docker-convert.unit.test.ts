import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  authFor,
  containerName,
  containerSpec,
  LABEL,
  networkName,
  networkOptions,
  registryOf,
  SCRIPT_COMMAND,
  SCRIPT_ENV,
  trustProblems,
  usesStageNetwork,
  volumeOptions,
  workspaceVolumeName,
} from '../../src/runner/docker/convert.ts';
import type { StageRun } from '../../src/runner/engine.ts';
import { stageRun, stepOf } from './engine.contract.ts';

const image = 'alpine:3';

function given(run: StageRun, name: string, env: Record<string, string> = {}) {
  return containerSpec(run, stepOf(run, name, env), 'runner-1');
}

describe('docker convert: names and labels', () => {
  it('names the network, volumes and containers after the run, cleaned to what docker accepts', () => {
    const run = { ...stageRun([{ name: 'build step', script: 'true' }], { image, volumes: [{ kind: 'temp', name: 'my cache' }] }), runId: 'r/1 x' };
    assert.equal(networkName(run), 'runlog-r-1-x');
    assert.equal(workspaceVolumeName(run), 'runlog-r-1-x-workspace');
    assert.equal(containerName(run, run.stage.steps[0]), 'runlog-r-1-x-1');
    assert.deepEqual(
      volumeOptions(run, 'runner-1').map((v) => v.Name),
      ['runlog-r-1-x-workspace', 'runlog-r-1-x-v0-my-cache'],
    );
  });

  it('names the workspace after workspaceKey when a resumed stage reuses one', () => {
    const run = { ...stageRun([{ name: 'a', script: 'true' }], { image }), runId: 'second', workspaceKey: 'first' };
    assert.equal(workspaceVolumeName(run), 'runlog-first-workspace');
    assert.equal(networkName(run), 'runlog-second');
  });

  it('labels the network with the stage, the container with its step too', () => {
    const run = stageRun([{ name: 'test', script: 'true' }], { image });
    const stage = { [LABEL.build]: run.buildId, [LABEL.stage]: 'test', [LABEL.run]: run.runId, [LABEL.runner]: 'runner-1' };
    assert.deepEqual(networkOptions(run, 'runner-1'), { Name: networkName(run), Driver: 'bridge', CheckDuplicate: true, Labels: stage });
    assert.deepEqual(given(run, 'test').options.Labels, { ...stage, [LABEL.step]: 'test' });
  });

  it('makes docker volumes for the workspace and disk temp volumes only (memory ones are tmpfs mounts)', () => {
    const run = stageRun([{ name: 'a', script: 'true' }], {
      image,
      volumes: [
        { kind: 'temp', name: 'disk' },
        { kind: 'temp', name: 'ram', medium: 'memory' },
        { kind: 'host', name: 'sock', path: '/var/run/docker.sock' },
      ],
    });
    assert.deepEqual(
      volumeOptions(run, 'r').map((v) => v.Name),
      [workspaceVolumeName(run), `runlog-${run.runId}-v0-disk`],
    );
  });
});

describe('docker convert: a step to container options', () => {
  it('runs commands as DRONE_SCRIPT through /bin/sh, stderr joined to stdout', () => {
    const run = stageRun([{ name: 'test', script: 'set -e\necho hi' }], { image });
    const { options, file } = given(run, 'test');
    assert.deepEqual(options.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(options.Cmd, [SCRIPT_COMMAND]);
    assert.equal(SCRIPT_COMMAND, 'exec 2>&1; eval "$DRONE_SCRIPT"');
    assert.ok(options.Env!.includes(`${SCRIPT_ENV}=set -e\necho hi`));
    assert.equal(file, undefined);
  });

  it('writes a script too big for the environment into the container instead', () => {
    const script = `echo ${'x'.repeat(70 * 1024)}`;
    const run = stageRun([{ name: 'big', script }], { image });
    const { options, file } = given(run, 'big');
    assert.deepEqual(file, { dir: '/', name: '.runlog-script.sh', content: script, mode: 0o755 });
    assert.deepEqual(options.Entrypoint, ['/bin/sh', '-c', 'exec 2>&1; . "$0"', '/.runlog-script.sh']);
    assert.deepEqual(options.Cmd, []);
    assert.ok(!options.Env!.some((entry) => entry.startsWith(`${SCRIPT_ENV}=`)));
  });

  it('keeps entrypoint and command when there are no commands (plugins), and the image default when neither', () => {
    const run = stageRun(
      [
        { name: 'plugin', entrypoint: ['/bin/plugin'], command: ['--flag'] },
        { name: 'default' },
      ],
      { image },
    );
    const plugin = given(run, 'plugin').options;
    assert.deepEqual([plugin.Entrypoint, plugin.Cmd], [['/bin/plugin'], ['--flag']]);
    const plain = given(run, 'default').options;
    assert.deepEqual([plain.Entrypoint, plain.Cmd], [undefined, undefined]);
  });

  it('merges the plan\'s values with the runner\'s env (secrets) over them, sorted', () => {
    const run = stageRun([{ name: 'a', environment: { B: { value: 'plan' }, A: { value: '1' }, S: { secret: 'token' } } }], { image });
    assert.deepEqual(given(run, 'a', { B: 'runner', S: 'value' }).options.Env, ['A=1', 'B=runner', 'S=value']);
  });

  it('mounts the workspace at the workspace path and starts there, or in working_dir (relative to it)', () => {
    const run = stageRun(
      [
        { name: 'here' },
        { name: 'rel', workingDir: 'sub/dir' },
        { name: 'abs', workingDir: '/go/src' },
      ],
      { image },
    );
    const here = given(run, 'here').options;
    assert.equal(here.WorkingDir, '/drone/src');
    assert.deepEqual(here.HostConfig!.Mounts, [{ Type: 'volume', Source: workspaceVolumeName(run), Target: '/drone/src' }]);
    assert.equal(given(run, 'rel').options.WorkingDir, '/drone/src/sub/dir');
    assert.equal(given(run, 'abs').options.WorkingDir, '/go/src');
  });

  it('mounts temp volumes, memory ones as tmpfs, and host paths for trusted repos', () => {
    const run = stageRun(
      [
        {
          name: 'a',
          volumes: [
            { name: 'disk', path: '/cache' },
            { name: 'ram', path: '/tmp/ram' },
            { name: 'sock', path: '/var/run/docker.sock' },
          ],
        },
      ],
      {
        image,
        trusted: true,
        volumes: [
          { kind: 'temp', name: 'disk' },
          { kind: 'temp', name: 'ram', medium: 'memory' },
          { kind: 'host', name: 'sock', path: '/var/run/docker.sock' },
        ],
      },
    );
    assert.deepEqual(given(run, 'a').options.HostConfig!.Mounts!.slice(1), [
      { Type: 'volume', Source: `runlog-${run.runId}-v0-disk`, Target: '/cache' },
      { Type: 'tmpfs', Source: '', Target: '/tmp/ram' },
      { Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock' },
    ]);
  });

  it('refuses a volume the pipeline does not declare', () => {
    const run = stageRun([{ name: 'a', volumes: [{ name: 'nope', path: '/x' }] }], { image });
    assert.throws(() => given(run, 'a'), /step a mounts volume nope, which the pipeline does not declare \(declared: none\)/);
  });

  it('joins the stage network under the step name, unless network_mode replaces it', () => {
    const run = stageRun([{ name: 'db' }, { name: 'hosted', networkMode: 'host' }], { image });
    const db = given(run, 'db').options;
    assert.equal(db.HostConfig!.NetworkMode, networkName(run));
    assert.deepEqual(db.NetworkingConfig, { EndpointsConfig: { [networkName(run)]: { Aliases: ['db'] } } });
    const hosted = given(run, 'hosted').options;
    assert.equal(hosted.HostConfig!.NetworkMode, 'host');
    assert.equal(hosted.NetworkingConfig, undefined);
  });

  it('leaves stages without services or detached steps on the default bridge under the when-needed policy', () => {
    const plain = stageRun([{ name: 'a' }], { image });
    assert.equal(usesStageNetwork(plain, 'per-stage'), true);
    assert.equal(usesStageNetwork(plain, 'when-needed'), false);
    const spec = containerSpec(plain, stepOf(plain, 'a'), 'r', 'when-needed').options;
    assert.equal(spec.HostConfig!.NetworkMode, 'bridge');
    assert.equal(spec.NetworkingConfig, undefined);
    assert.equal(usesStageNetwork(stageRun([{ name: 'a' }], { image, services: [{ name: 'db' }] }), 'when-needed'), true);
    assert.equal(usesStageNetwork(stageRun([{ name: 'a', detach: true }], { image }), 'when-needed'), true);
  });

  it('reads network_mode container:<step> as that step\'s container', () => {
    const run = stageRun([{ name: 'vpn' }, { name: 'through', networkMode: 'container:vpn' }, { name: 'other', networkMode: 'container:elsewhere' }], { image });
    assert.equal(given(run, 'through').options.HostConfig!.NetworkMode, `container:${containerName(run, run.stage.steps[0])}`);
    assert.equal(given(run, 'other').options.HostConfig!.NetworkMode, 'container:elsewhere');
  });

  it('maps user, resources, dns, extra hosts and shm size', () => {
    const run = stageRun(
      [
        {
          name: 'a',
          user: '1000:1000',
          resources: { cpuShares: 512, cpuLimit: 1.5, memLimit: 268435456, memSwapLimit: -1 },
          dns: ['10.0.0.2'],
          dnsSearch: ['corp.internal'],
          extraHosts: ['db:10.0.0.3'],
          shmSize: 67108864,
        },
      ],
      { image },
    );
    const { options } = given(run, 'a');
    assert.equal(options.User, '1000:1000');
    assert.equal(options.Tty, false);
    const host = options.HostConfig!;
    assert.deepEqual(
      [host.CpuShares, host.NanoCpus, host.Memory, host.MemorySwap, host.Dns, host.DnsSearch, host.ExtraHosts, host.ShmSize],
      [512, 1_500_000_000, 268435456, -1, ['10.0.0.2'], ['corp.internal'], ['db:10.0.0.3'], 67108864],
    );
    assert.equal(host.Privileged, false);
  });

  it('allows privileged steps and host volumes only on trusted repos', () => {
    const untrusted = stageRun([{ name: 'dind', privileged: true }], {
      image,
      volumes: [{ kind: 'host', name: 'sock', path: '/var/run/docker.sock' }],
    });
    assert.deepEqual(trustProblems(untrusted), ['step dind is privileged', 'volume sock mounts the host path /var/run/docker.sock']);
    assert.throws(() => given(untrusted, 'dind'), /step dind is privileged: privileged steps and host volumes need a trusted repo, and octo\/hello is not trusted/);
    const trusted = { ...untrusted, trusted: true };
    assert.deepEqual(trustProblems(trusted), []);
    assert.equal(given(trusted, 'dind').options.HostConfig!.Privileged, true);
  });
});

describe('docker convert: images and registry credentials', () => {
  it('finds the registry an image names', () => {
    assert.equal(registryOf('alpine'), 'docker.io');
    assert.equal(registryOf('library/alpine:3'), 'docker.io');
    assert.equal(registryOf('ghcr.io/octo/app:1'), 'ghcr.io');
    assert.equal(registryOf('localhost/app'), 'localhost');
    assert.equal(registryOf('127.0.0.1:5000/app'), '127.0.0.1:5000');
  });

  it('picks the credentials of the image\'s registry, Docker Hub under any of its names', () => {
    const auths = {
      'https://index.docker.io/v1/': { username: 'hub', password: 'p1' },
      'ghcr.io': { username: 'gh', password: 'p2' },
    };
    assert.deepEqual(authFor('alpine', auths), { username: 'hub', password: 'p1', serveraddress: 'https://index.docker.io/v1/' });
    assert.deepEqual(authFor('ghcr.io/o/a', auths), { username: 'gh', password: 'p2', serveraddress: 'ghcr.io' });
    assert.equal(authFor('quay.io/o/a', auths), undefined);
    assert.equal(authFor('alpine', undefined), undefined);
  });
});
