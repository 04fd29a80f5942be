import type Docker from 'dockerode';
import { posix } from 'node:path';
import type { PlanStep } from '../../pipeline/plan.ts';
import type { StageRun, StepRun } from '../engine.ts';

/**
 * Plan → Docker, without a daemon: names, labels, and the options `engine.ts` hands to
 * dockerode. Everything here is pure so it is unit-tested; `engine.ts` only makes calls.
 *
 * Resource names derive from the stage's `runId` (the workspace from `workspaceKey` when a
 * resumed stage reuses an earlier attempt's workspace), so that `destroy` and `sweep` find
 * them from any engine instance. Labels say whose they are:
 *   runlog.build, runlog.stage, runlog.run, runlog.runner on every container, network, volume;
 *   runlog.step on containers only (networks and volumes belong to the whole stage).
 */

export const LABEL = {
  build: 'runlog.build',
  stage: 'runlog.stage',
  step: 'runlog.step',
  run: 'runlog.run',
  runner: 'runlog.runner',
} as const;

/**
 * A step's script travels in this variable (as in Drone) and is run by `eval` in `/bin/sh`:
 * no extra API call per step (writing a file into the container would cost one), works in
 * any image with a POSIX shell, and — unlike Drone's `echo "$DRONE_SCRIPT" | /bin/sh` — the
 * script is not the shell's stdin (a command reading stdin cannot swallow the rest of the
 * script) and `echo` cannot mangle its backslashes (dash's does). `exec 2>&1` first sends the
 * script's stderr into stdout, so output that the step interleaves stays in that order in
 * the log (docker copies two streams separately and may reorder them).
 */
export const SCRIPT_ENV = 'DRONE_SCRIPT';
export const SCRIPT_ENTRYPOINT = ['/bin/sh', '-c'];
export const SCRIPT_COMMAND = `exec 2>&1; eval "$${SCRIPT_ENV}"`;
/**
 * Linux refuses one environment string longer than 128 KiB (MAX_ARG_STRLEN) with E2BIG; a
 * script above this size is written into the container before it starts instead.
 */
export const SCRIPT_ENV_MAX_BYTES = 64 * 1024;
export const SCRIPT_FILE = { dir: '/', name: '.runlog-script.sh' } as const;

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else becomes '-'. */
export function safeName(text: string): string {
  const cleaned = text.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return /^[a-zA-Z0-9]/.test(cleaned) ? cleaned : `x${cleaned}`;
}

export function networkName(run: StageRun): string {
  return `runlog-${safeName(run.runId)}`;
}

export function workspaceVolumeName(run: StageRun): string {
  return keptVolumeName(run.workspaceKey ?? run.runId);
}

/** The workspace volume of the stage run (or kept workspace) `key`. */
export const keptVolumeName = (key: string): string => `runlog-${safeName(key)}-workspace`;

/** Temp volumes are named by their position too, so that two names cleaned alike stay apart. */
export function tempVolumeName(run: StageRun, name: string): string {
  const index = run.stage.volumes.findIndex((volume) => volume.name === name);
  return `runlog-${safeName(run.runId)}-v${index}-${safeName(name)}`;
}

/** One container per step number; a re-run of the step (retry) replaces it. */
export function containerName(run: StageRun, step: PlanStep): string {
  return `runlog-${safeName(run.runId)}-${step.number}`;
}

export function stageLabels(run: StageRun, runner: string): Record<string, string> {
  return {
    [LABEL.build]: run.buildId,
    [LABEL.stage]: run.stage.name,
    [LABEL.run]: run.runId,
    [LABEL.runner]: runner,
  };
}

export function stepLabels(run: StageRun, runner: string, step: PlanStep): Record<string, string> {
  return { ...stageLabels(run, runner), [LABEL.step]: step.name };
}

/**
 * Which stages get their own network. 'per-stage' (the default, as in Drone): every stage,
 * every container reachable by its step name. 'when-needed': only stages with services or
 * detached steps — the containers something may connect to by name — while other stages'
 * steps run on Docker's default bridge. Why offer it: on a user-defined network, dockerd
 * sets up an embedded DNS resolver in every container's namespace, which here costs about
 * as much again as starting the container (see bench/stage-overhead.bench.ts). What it
 * gives up: steps of such a stage cannot reach each other by name (a server a step starts
 * in the background for a parallel step; use a service or `detach` for that).
 */
export type NetworkPolicy = 'per-stage' | 'when-needed';

export function usesStageNetwork(run: StageRun, policy: NetworkPolicy): boolean {
  return policy === 'per-stage' || run.stage.services.length > 0 || run.stage.steps.some((step) => step.detach);
}

export function networkOptions(run: StageRun, runner: string): Docker.NetworkCreateOptions {
  // CheckDuplicate: without it a second create with the same name makes a second network.
  return { Name: networkName(run), Driver: 'bridge', CheckDuplicate: true, Labels: stageLabels(run, runner) };
}

/** The workspace volume and one per disk-backed temp volume; memory ones are tmpfs mounts per container. */
export function volumeOptions(run: StageRun, runner: string): Docker.VolumeCreateOptions[] {
  const labels = stageLabels(run, runner);
  const volumes: Docker.VolumeCreateOptions[] = [{ Name: workspaceVolumeName(run), Driver: 'local', Labels: labels }];
  for (const volume of run.stage.volumes) {
    if (volume.kind === 'temp' && volume.medium !== 'memory') {
      volumes.push({ Name: tempVolumeName(run, volume.name), Driver: 'local', Labels: labels });
    }
  }
  return volumes;
}

/**
 * What an untrusted repo may not do: privileged steps and host volumes (they reach the
 * runner's host). Checked for the whole stage before anything is created.
 */
export function trustProblems(run: StageRun): string[] {
  if (run.trusted) return [];
  const problems: string[] = [];
  for (const step of [...run.stage.services, ...run.stage.steps]) {
    if (step.privileged) problems.push(`step ${step.name} is privileged`);
  }
  for (const volume of run.stage.volumes) {
    if (volume.kind === 'host') problems.push(`volume ${volume.name} mounts the host path ${volume.path}`);
  }
  return problems;
}

export function untrustedError(run: StageRun, problems: string[]): Error {
  return new Error(
    `${problems.join('; ')}: privileged steps and host volumes need a trusted repo, and ${run.repo} is not trusted`,
  );
}

/** The environment a step's process gets: the plan's plain values, then `StepRun.env` (secrets resolved) over them. */
export function stepEnvironment(stepRun: StepRun): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(stepRun.step.environment)) {
    if ('value' in value) env[key] = value.value;
  }
  return { ...env, ...stepRun.env };
}

/** A container to create, and possibly a file to put into it before it starts. */
export type ContainerSpec = {
  options: Docker.ContainerCreateOptions & { name: string };
  file?: { dir: string; name: string; content: string; mode: number };
};

export function containerSpec(run: StageRun, stepRun: StepRun, runner: string, policy: NetworkPolicy = 'per-stage'): ContainerSpec {
  const { step } = stepRun;
  const problems = trustProblems({ ...run, stage: { ...run.stage, services: [], steps: [step], volumes: [] } });
  if (problems.length > 0) throw untrustedError(run, problems);

  const env = stepEnvironment(stepRun);
  let entrypoint = step.entrypoint;
  let command = step.command;
  let file: ContainerSpec['file'];
  if (step.script !== undefined) {
    // commands win over entrypoint/command, as in Drone
    if (Buffer.byteLength(step.script) <= SCRIPT_ENV_MAX_BYTES) {
      env[SCRIPT_ENV] = step.script;
      entrypoint = SCRIPT_ENTRYPOINT;
      command = [SCRIPT_COMMAND];
    } else {
      file = { ...SCRIPT_FILE, content: step.script, mode: 0o755 };
      entrypoint = ['/bin/sh', '-c', 'exec 2>&1; . "$0"', `${SCRIPT_FILE.dir}${SCRIPT_FILE.name}`];
      command = [];
    }
  }

  const hostConfig: Docker.HostConfig = {
    Mounts: mounts(run, step),
    Privileged: step.privileged,
  };
  const network = usesStageNetwork(run, policy) ? networkName(run) : undefined;
  hostConfig.NetworkMode = networkMode(run, step) ?? network ?? 'bridge';
  if (step.dns.length > 0) hostConfig.Dns = step.dns;
  if (step.dnsSearch.length > 0) hostConfig.DnsSearch = step.dnsSearch;
  if (step.extraHosts.length > 0) hostConfig.ExtraHosts = step.extraHosts;
  if (step.shmSize) hostConfig.ShmSize = step.shmSize;
  const { cpuShares, cpuLimit, memLimit, memSwapLimit } = step.resources;
  if (cpuShares) hostConfig.CpuShares = cpuShares;
  if (cpuLimit) hostConfig.NanoCpus = Math.round(cpuLimit * 1e9);
  if (memLimit) hostConfig.Memory = memLimit;
  if (memSwapLimit !== undefined) hostConfig.MemorySwap = memSwapLimit;

  const options: ContainerSpec['options'] = {
    name: containerName(run, step),
    Image: step.image,
    Env: Object.keys(env)
      .sort()
      .map((key) => `${key}=${env[key]}`),
    Labels: stepLabels(run, runner, step),
    WorkingDir: workingDir(run, step),
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    Tty: false,
    HostConfig: hostConfig,
  };
  if (entrypoint) options.Entrypoint = entrypoint;
  if (command) options.Cmd = command;
  if (step.user) options.User = step.user;
  // network_mode (host, none, container:x) replaces the stage network, and its aliases with it
  if (step.networkMode === undefined && network !== undefined) {
    options.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: [step.name, ...(step.aliases ?? [])] } } };
  }
  return file ? { options, file } : { options };
}

/** network_mode, where `container:<step name>` means that step's container, as users of Drone write it. */
function networkMode(run: StageRun, step: PlanStep): string | undefined {
  const mode = step.networkMode;
  if (!mode?.startsWith('container:')) return mode;
  const other = [...run.stage.services, ...run.stage.steps].find((candidate) => candidate.name === mode.slice('container:'.length));
  return other ? `container:${containerName(run, other)}` : mode;
}

/** working_dir, relative ones from the workspace (docker itself insists on absolute paths). */
function workingDir(run: StageRun, step: PlanStep): string {
  if (step.workingDir === undefined) return run.stage.workspace.path;
  return step.workingDir.startsWith('/') ? step.workingDir : posix.join(run.stage.workspace.path, step.workingDir);
}

function mounts(run: StageRun, step: PlanStep): Docker.MountSettings[] {
  const list: Docker.MountSettings[] = [
    { Type: 'volume', Source: workspaceVolumeName(run), Target: run.stage.workspace.path },
  ];
  for (const mount of step.volumes) {
    const volume = run.stage.volumes.find((candidate) => candidate.name === mount.name);
    if (!volume) {
      const known = run.stage.volumes.map((candidate) => candidate.name);
      throw new Error(
        `step ${step.name} mounts volume ${mount.name}, which the pipeline does not declare (declared: ${known.join(', ') || 'none'})`,
      );
    }
    if (volume.kind === 'host') list.push({ Type: 'bind', Source: volume.path, Target: mount.path });
    else if (volume.medium === 'memory') list.push({ Type: 'tmpfs', Source: '', Target: mount.path });
    else list.push({ Type: 'volume', Source: tempVolumeName(run, volume.name), Target: mount.path });
  }
  return list;
}

/** The registry an image reference names: its first component when that looks like a host, else Docker Hub. */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = image.slice(0, slash);
  if (first === 'localhost' || first.includes('.') || first.includes(':')) return first;
  return 'docker.io';
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The credentials of `registryAuth` that apply to `image`; keys may be hosts or URLs (`https://index.docker.io/v1/`). */
export function authFor(
  image: string,
  registryAuth: StageRun['registryAuth'],
): { username: string; password: string; serveraddress: string } | undefined {
  if (!registryAuth) return undefined;
  const wanted = registryOf(image);
  for (const [key, credentials] of Object.entries(registryAuth)) {
    const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
    if (host === wanted || (DOCKER_HUB.has(host) && DOCKER_HUB.has(wanted))) {
      return { username: credentials.username, password: credentials.password, serveraddress: key };
    }
  }
  return undefined;
}
