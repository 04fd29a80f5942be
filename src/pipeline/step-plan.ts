import { evaluateConditions, runsOn } from './conditions.ts';
import type { ConditionFacts } from './conditions.ts';
import { stepEnvironment } from './environment.ts';
import type { EnvValue, PlanStep } from './plan.ts';
import { posixScript, powershellScript } from './script.ts';
import { buildStepOf, isBuildStep } from './build-step.ts';
import { pluginEnvironment } from './settings.ts';
import type { DockerStep, ExecStep } from './spec.ts';
import type { Workspace } from './workspace.ts';

/** What every step of a stage shares. */
export interface StageScope {
  /** Build, stage and workspace variables with the pipeline's `environment`, in Drone's precedence. */
  environment: Record<string, EnvValue>;
  os: string;
  workspace: Workspace;
  facts: ConditionFacts;
}

/**
 * Images Drone runs privileged when they are used as plugins (drone-runner-docker
 * `compiler.Privileged`, the default of `DRONE_RUNNER_PRIVILEGED_IMAGES`): they build
 * images with Docker-in-Docker, and `.drone.yml` files using them never say
 * `privileged: true`.
 */
const PRIVILEGED_PLUGINS = ['plugins/docker', 'plugins/acr', 'plugins/ecr', 'plugins/gcr', 'plugins/heroku'];

/**
 * One service or step → its plan entry (dependencies are added by the stage).
 *
 * Environment precedence, lowest first, as drone-runner-docker combines it
 * (`engine/compiler/compiler.go`, `step.go`): the stage scope (build parameters, the
 * pipeline's `environment`, then every `DRONE_*`/`CI_*` variable of the build, stage and
 * workspace — so a pipeline cannot override `DRONE_BRANCH`), the step's `DRONE_STEP_*`,
 * the step's own `environment`, then its `PLUGIN_*` settings.
 */
export function planStep(step: DockerStep | ExecStep, kind: 'service' | 'step', number: number, scope: StageScope): PlanStep {
  const docker = 'image' in step;
  const commands = step.commands ?? [];
  const environment: Record<string, EnvValue> = { ...scope.environment };
  for (const [name, value] of Object.entries(stepEnvironment({ name: step.name, number }))) environment[name] = { value };
  Object.assign(environment, step.environment ?? {});
  const imageBuild = docker && kind === 'step' && isBuildStep(step.image) ? buildStepOf(step.settings) : undefined;
  if (imageBuild) Object.assign(environment, imageBuild.environment);
  else if (docker && step.settings) Object.assign(environment, pluginEnvironment(step.settings));

  const detach = kind === 'service' || step.detach === true;
  const planned: PlanStep = {
    number,
    name: step.name,
    kind,
    image: docker ? step.image : '',
    pull: docker ? pullPolicy(step.pull) : 'default',
    commands,
    environment,
    privileged: docker && (step.privileged === true || (kind === 'step' && isPrivilegedPlugin(step))),
    detach,
    failure: step.failure?.toLowerCase() === 'ignore' ? 'ignore' : 'always',
    dependsOn: [],
    runsOn: runsOn(step.when?.status, ['success']),
    volumes: docker ? (step.volumes ?? []).map(({ name, path }) => ({ name, path })) : [],
    resources: docker ? resources(step) : {},
    extraHosts: docker ? (step.extra_hosts ?? []) : [],
    dns: docker ? (step.dns ?? []) : [],
    dnsSearch: docker ? (step.dns_search ?? []) : [],
  };
  if (commands.length > 0) planned.script = scope.os === 'windows' ? powershellScript(commands) : posixScript(commands);
  // Drone replaces the entrypoint and command with the script when there are commands.
  if (docker && commands.length === 0) {
    if (step.entrypoint) planned.entrypoint = step.entrypoint;
    if (step.command) planned.command = step.command;
  }
  const skip = step.when ? evaluateConditions(step.when, scope.facts) : undefined;
  if (skip) planned.skip = skip;
  const workingDir = docker ? (step.working_dir ?? defaultWorkingDir(detach, commands, scope.workspace)) : scope.workspace.path;
  if (workingDir) planned.workingDir = workingDir;
  if (docker) {
    if (step.user) planned.user = step.user;
    if (step.network_mode) planned.networkMode = step.network_mode;
    if (step.shm_size !== undefined) planned.shmSize = step.shm_size;
  }
  if (step.retry) planned.retry = { limit: step.retry.limit, exitCodes: step.retry.exit_codes ?? [] };
  if (imageBuild?.build) {
    planned.build = imageBuild.build;
    planned.image = '';
    delete planned.script;
  }
  return planned;
}

/** The clone step Drone adds first (drone-runner-docker `engine/compiler/clone.go`): it always runs. */
export function planClone(scope: StageScope, clone: { depth: number; skipVerify: boolean }): PlanStep {
  const environment: Record<string, EnvValue> = { ...scope.environment };
  for (const [name, value] of Object.entries(stepEnvironment({ name: 'clone', number: 1 }))) environment[name] = { value };
  // The clone plugin's parameters (`cloneParams`).
  if (clone.depth > 0) environment.PLUGIN_DEPTH = { value: String(clone.depth) };
  if (clone.skipVerify) {
    environment.GIT_SSL_NO_VERIFY = { value: 'true' };
    environment.PLUGIN_SKIP_VERIFY = { value: 'true' };
  }
  return {
    number: 1,
    name: 'clone',
    kind: 'clone',
    image: '',
    pull: 'if-not-exists',
    commands: [],
    environment,
    privileged: false,
    detach: false,
    failure: 'always',
    dependsOn: [],
    runsOn: ['success', 'failure'],
    volumes: [],
    workingDir: scope.workspace.path,
    resources: {},
    extraHosts: [],
    dns: [],
    dnsSearch: [],
  };
}

/** drone-runner-docker `convertPullPolicy`: case-insensitive; anything else is the default. */
function pullPolicy(pull: string | undefined): PlanStep['pull'] {
  switch (pull?.toLowerCase()) {
    case 'always':
      return 'always';
    case 'never':
      return 'never';
    case 'if-not-exists':
      return 'if-not-exists';
    default:
      return 'default';
  }
}

/** drone-runner-docker `setupWorkdir`: a service with no commands keeps its image's own directory. */
function defaultWorkingDir(detach: boolean, commands: readonly string[], workspace: Workspace): string | undefined {
  return detach && commands.length === 0 ? undefined : workspace.path;
}

/**
 * drone-runner-docker `isPrivileged`: only a plain plugin use — no commands, command,
 * entrypoint or volumes, and none of the variables that would point Docker elsewhere.
 */
function isPrivilegedPlugin(step: DockerStep): boolean {
  if (step.commands?.length || step.command?.length || step.entrypoint?.length || step.volumes?.length) return false;
  const env = step.environment ?? {};
  if ('XDG_RUNTIME_DIR' in env || 'DOCKER_OPTS' in env || 'DOCKER_HOST' in env) return false;
  const name = familiarName(step.image);
  return PRIVILEGED_PLUGINS.includes(name);
}

/** `docker.io/library/golang:1.22@sha256:…` → `golang`: the name Docker shows, without tag or digest. */
export function familiarName(image: string): string {
  let name = image.split('@')[0];
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) name = name.slice(0, colon);
  for (const prefix of ['docker.io/', 'index.docker.io/', 'registry-1.docker.io/']) {
    if (name.startsWith(prefix)) name = name.slice(prefix.length);
  }
  return name.startsWith('library/') ? name.slice('library/'.length) : name;
}

function resources(step: DockerStep): PlanStep['resources'] {
  const out: PlanStep['resources'] = {};
  const memLimit = step.mem_limit ?? step.resources?.limits?.memory;
  if (memLimit !== undefined) out.memLimit = memLimit;
  if (step.memswap_limit !== undefined) out.memSwapLimit = step.memswap_limit;
  if (step.resources?.limits?.cpu !== undefined) out.cpuLimit = step.resources.limits.cpu;
  // Docker's convention: 1024 shares weigh as one CPU.
  if (step.resources?.requests?.cpu !== undefined) out.cpuShares = Math.round(step.resources.requests.cpu * 1024);
  return out;
}
