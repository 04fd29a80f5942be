import type { CompileContext } from './trigger.ts';
import { calverEnvironment, semverEnvironment } from './tag-versions.ts';

/**
 * The variables a step sees, named and valued as Drone's docker runner sets them
 * (drone/runner-go environ/environ.go: `System`, `Repo`, `Build`, `Link`, `Stage`, `Step`;
 * drone-runner-docker engine/compiler: workspace), plus the `CI_*` names Woodpecker users
 * rely on (woodpecker pipeline/frontend/metadata/environment.go). Each variable is set in
 * one place. Where Drone's legacy `CI_*` alias and Woodpecker's variable share a name but
 * not a meaning, Woodpecker's wins: Drone marks its aliases deprecated ("should not be
 * relied upon"), Woodpecker's are current. The exception is `CI`, which stays `true` as in
 * Drone. Woodpecker leaves out a variable whose value is empty, so its own names here do too;
 * `DRONE_*` names are always present, empty or not, as in Drone.
 *
 * Build parameters (`trigger.params`) are not included: Drone gives them to steps underneath
 * these variables and to substitution on top of them, so the caller layers them.
 */

type Env = Record<string, string>;

/** Woodpecker's `setNonEmptyEnvVar`. */
function setNonEmpty(env: Env, key: string, value: string): void {
  if (value !== '') env[key] = value;
}

/** UNIX seconds, as Drone stores and prints `created`, `started`, `finished`. */
function unixSeconds(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? '0' : String(Math.floor(ms / 1000));
}

/** Woodpecker's event names differ where Drone has promote/rollback (a deployment) and custom (a manual run). */
function woodpeckerEvent(event: string): string {
  switch (event) {
    case 'promote':
    case 'rollback':
      return 'deployment';
    case 'custom':
      return 'manual';
    default:
      return event;
  }
}

/** Drone's `build.Trigger`: `@hook` for forge events, `@cron` for cron, the user for builds started by hand. */
function buildTrigger(ctx: CompileContext): string {
  const { event, sender } = ctx.trigger;
  if (event === 'cron') return '@cron';
  if (event === 'promote' || event === 'rollback' || event === 'custom') return sender;
  return '@hook';
}

function systemEnvironment(ctx: CompileContext): Env {
  const { system } = ctx;
  const env: Env = {
    CI: 'true',
    DRONE: 'true',
    DRONE_SYSTEM_PROTO: system.proto,
    DRONE_SYSTEM_HOST: system.host,
    DRONE_SYSTEM_HOSTNAME: system.host,
    DRONE_SYSTEM_VERSION: system.version,
    CI_SYSTEM_NAME: 'runlog',
  };
  setNonEmpty(env, 'CI_SYSTEM_URL', `${system.proto}://${system.host}`);
  setNonEmpty(env, 'CI_SYSTEM_HOST', system.host);
  setNonEmpty(env, 'CI_SYSTEM_VERSION', system.version);
  return env;
}

function repoEnvironment(ctx: CompileContext): Env {
  const { repo } = ctx;
  const env: Env = {
    DRONE_REPO: repo.slug,
    DRONE_REPO_SCM: 'git',
    DRONE_REPO_OWNER: repo.owner,
    DRONE_REPO_NAMESPACE: repo.owner,
    DRONE_REPO_NAME: repo.name,
    DRONE_REPO_LINK: repo.link,
    DRONE_REPO_BRANCH: repo.defaultBranch,
    DRONE_REMOTE_URL: repo.cloneUrl,
    DRONE_GIT_HTTP_URL: repo.cloneUrl,
    // RepoInfo has no SSH clone URL yet; Drone sets the forge's.
    DRONE_GIT_SSH_URL: '',
    DRONE_REPO_VISIBILITY: repo.visibility,
    DRONE_REPO_PRIVATE: String(repo.private),
    // Drone's legacy aliases (runner-go: "backward compatibility with drone 0.8").
    CI_REPO_LINK: repo.link,
    CI_REPO_REMOTE: repo.cloneUrl,
    CI_REMOTE_URL: repo.cloneUrl,
  };
  // Woodpecker's: CI_REPO_NAME is the name alone (Drone's legacy alias was the slug).
  setNonEmpty(env, 'CI_REPO', repo.slug);
  setNonEmpty(env, 'CI_REPO_NAME', repo.name);
  setNonEmpty(env, 'CI_REPO_OWNER', repo.owner);
  setNonEmpty(env, 'CI_REPO_SCM', 'git');
  setNonEmpty(env, 'CI_REPO_URL', repo.link);
  setNonEmpty(env, 'CI_REPO_CLONE_URL', repo.cloneUrl);
  setNonEmpty(env, 'CI_REPO_DEFAULT_BRANCH', repo.defaultBranch);
  env.CI_REPO_PRIVATE = String(repo.private);
  env.CI_REPO_TRUSTED = String(repo.trusted);
  env.CI_REPO_TRUSTED_NETWORK = String(repo.trusted);
  env.CI_REPO_TRUSTED_VOLUMES = String(repo.trusted);
  env.CI_REPO_TRUSTED_SECURITY = String(repo.trusted);
  return env;
}

function commitEnvironment(ctx: CompileContext): Env {
  const { trigger } = ctx;
  // Drone's build.Target is the branch the build is for (a pull request's base); its
  // build.Source is the pull request's head, or the pushed branch itself. Drone's cron
  // builds set only the target.
  const target = trigger.event === 'pull_request' ? trigger.targetBranch || trigger.branch : trigger.branch;
  const source = trigger.sourceBranch || (trigger.event === 'cron' ? '' : trigger.branch);
  const sha = trigger.after || trigger.commit;
  const env: Env = {
    DRONE_BRANCH: target,
    DRONE_SOURCE_BRANCH: source,
    DRONE_TARGET_BRANCH: target,
    DRONE_COMMIT: sha,
    DRONE_COMMIT_SHA: sha,
    DRONE_COMMIT_BEFORE: trigger.before,
    DRONE_COMMIT_AFTER: sha,
    DRONE_COMMIT_REF: trigger.ref,
    DRONE_COMMIT_BRANCH: target,
    DRONE_COMMIT_LINK: trigger.link,
    DRONE_COMMIT_MESSAGE: trigger.message,
    DRONE_COMMIT_AUTHOR: trigger.author.login,
    DRONE_COMMIT_AUTHOR_EMAIL: trigger.author.email,
    DRONE_COMMIT_AUTHOR_AVATAR: trigger.author.avatar,
    DRONE_COMMIT_AUTHOR_NAME: trigger.author.name,
  };
  setNonEmpty(env, 'CI_COMMIT_SHA', sha);
  setNonEmpty(env, 'CI_COMMIT_REF', trigger.ref);
  setNonEmpty(env, 'CI_COMMIT_BRANCH', target);
  setNonEmpty(env, 'CI_COMMIT_MESSAGE', trigger.message);
  setNonEmpty(env, 'CI_COMMIT_AUTHOR', trigger.author.login);
  setNonEmpty(env, 'CI_COMMIT_AUTHOR_NAME', trigger.author.name);
  setNonEmpty(env, 'CI_COMMIT_AUTHOR_EMAIL', trigger.author.email);
  setNonEmpty(env, 'CI_COMMIT_AUTHOR_AVATAR', trigger.author.avatar);

  if (trigger.event === 'pull_request') {
    // runner-go: the first run of digits in the ref (refs/pull/7/head → 7).
    const number = trigger.pullRequest !== undefined ? String(trigger.pullRequest) : /\d+/.exec(trigger.ref)?.[0] ?? '';
    env.DRONE_PULL_REQUEST = number;
    env.DRONE_PULL_REQUEST_TITLE = trigger.title;
    setNonEmpty(env, 'CI_COMMIT_PULL_REQUEST', number);
    setNonEmpty(env, 'CI_COMMIT_SOURCE_BRANCH', source);
    setNonEmpty(env, 'CI_COMMIT_TARGET_BRANCH', target);
    if (source && target) env.CI_COMMIT_REFSPEC = `${source}:${target}`;
  }

  if (trigger.ref.startsWith('refs/tags/')) {
    const tag = trigger.ref.slice('refs/tags/'.length);
    env.DRONE_TAG = tag;
    setNonEmpty(env, 'CI_COMMIT_TAG', tag);
    Object.assign(env, semverEnvironment(tag), calverEnvironment(tag));
  }
  return env;
}

function buildOnlyEnvironment(ctx: CompileContext): Env {
  const { trigger, build, repo, system } = ctx;
  const created = unixSeconds(build.createdAt);
  const number = String(build.number);
  const link = `${system.proto}://${system.host}/${repo.slug}/${build.number}`;
  const env: Env = {
    DRONE_BUILD_NUMBER: number,
    DRONE_BUILD_PARENT: String(build.parent),
    DRONE_BUILD_EVENT: trigger.event,
    DRONE_BUILD_ACTION: trigger.action,
    DRONE_BUILD_DEBUG: 'false',
    DRONE_BUILD_CREATED: created,
    DRONE_BUILD_LINK: link,
    DRONE_BUILD_TRIGGER: buildTrigger(ctx),
    DRONE_DEPLOY_TO: trigger.deployTo,
    DRONE_DEPLOY_ID: String(trigger.deployId ?? 0),
    // Drone's legacy aliases; CI_BUILD_LINK was the commit link there (build.Link).
    CI_BUILD_NUMBER: number,
    CI_PARENT_BUILD_NUMBER: String(build.parent),
    CI_BUILD_CREATED: created,
    CI_BUILD_EVENT: trigger.event,
    CI_BUILD_LINK: trigger.link,
    CI_BUILD_TARGET: trigger.deployTo,
  };
  setNonEmpty(env, 'CI_PIPELINE_NUMBER', number);
  setNonEmpty(env, 'CI_PIPELINE_PARENT', String(build.parent));
  setNonEmpty(env, 'CI_PIPELINE_EVENT', woodpeckerEvent(trigger.event));
  setNonEmpty(env, 'CI_PIPELINE_URL', link);
  setNonEmpty(env, 'CI_PIPELINE_FORGE_URL', trigger.link);
  setNonEmpty(env, 'CI_PIPELINE_DEPLOY_TARGET', trigger.deployTo);
  setNonEmpty(env, 'CI_PIPELINE_CREATED', created);
  // Woodpecker: a JSON list, "[]" when none, left out past 500 files.
  const files = trigger.changedFiles ?? [];
  if (files.length <= 500) env.CI_PIPELINE_FILES = JSON.stringify(files);
  return env;
}

/** Everything about the build that is known when it is compiled: system, repo, commit, build, tag, pull request, deploy. */
export function buildEnvironment(ctx: CompileContext): Record<string, string> {
  return {
    ...systemEnvironment(ctx),
    ...repoEnvironment(ctx),
    ...commitEnvironment(ctx),
    ...buildOnlyEnvironment(ctx),
  };
}

export type StageFacts = {
  name: string;
  number: number;
  type: string;
  os: string;
  arch: string;
  variant: string;
  kernel: string;
  dependsOn: string[];
  machine?: string;
};

/** runner-go `Stage` (without its run-time status and times: see runtimeEnvironment). */
export function stageEnvironment(stage: StageFacts): Record<string, string> {
  const env: Env = {
    DRONE_STAGE_KIND: 'pipeline',
    DRONE_STAGE_TYPE: stage.type,
    DRONE_STAGE_NAME: stage.name,
    DRONE_STAGE_NUMBER: String(stage.number),
    DRONE_STAGE_MACHINE: stage.machine ?? '',
    DRONE_STAGE_OS: stage.os,
    DRONE_STAGE_ARCH: stage.arch,
    DRONE_STAGE_VARIANT: stage.variant,
    DRONE_STAGE_DEPENDS_ON: stage.dependsOn.join(','),
    // Drone points adaptive cards at the step's stdout.
    DRONE_CARD_PATH: '/dev/stdout',
  };
  setNonEmpty(env, 'CI_WORKFLOW_NAME', stage.name);
  setNonEmpty(env, 'CI_WORKFLOW_NUMBER', String(stage.number));
  setNonEmpty(env, 'CI_SYSTEM_PLATFORM', `${stage.os}/${stage.arch}`);
  return env;
}

/** runner-go `Step`, and Woodpecker's names for the same. */
export function stepEnvironment(step: { name: string; number: number }): Record<string, string> {
  const env: Env = { DRONE_STEP_NAME: step.name, DRONE_STEP_NUMBER: String(step.number) };
  setNonEmpty(env, 'CI_STEP_NAME', step.name);
  setNonEmpty(env, 'CI_STEP_NUMBER', String(step.number));
  return env;
}

/** The default workspace of Drone's docker runner; a path under it is split into base and path as Drone does. */
const workspaceBase = '/drone/src';

/**
 * drone-runner-docker `setupWorkspaceEnv`: `DRONE_WORKSPACE` is the full path, `_BASE` the
 * mounted base, `_PATH` the part below it (empty for the default `/drone/src`).
 */
export function workspaceEnvironment(path: string): Record<string, string> {
  const full = path === '' ? workspaceBase : path;
  const under = full.startsWith(workspaceBase + '/');
  const base = under ? workspaceBase : full;
  const rest = under ? full.slice(workspaceBase.length + 1) : '';
  return {
    DRONE_WORKSPACE: full,
    DRONE_WORKSPACE_BASE: base,
    DRONE_WORKSPACE_PATH: rest,
    CI_WORKSPACE: full,
    CI_WORKSPACE_BASE: base,
    CI_WORKSPACE_PATH: rest,
  };
}

export type RuntimeFacts = {
  buildStatus: 'success' | 'failure';
  stageStatus: 'success' | 'failure';
  /** When the build started (its first stage), ISO 8601. */
  buildStartedAt: string;
  /** When this stage started, ISO 8601. */
  startedAt: string;
  /** Now, as the step starts: Drone sets the finish times of a running build to the current time. */
  now: string;
  runnerHost: string;
  runnerName: string;
  /** `os/arch` of the runner. */
  runnerPlatform: string;
  failedStages?: string[];
  failedSteps?: string[];
};

/**
 * What only the runner knows as a step starts. runner-go `Build`/`Stage` set these from the
 * run's state: statuses are `success` until something failed, and a build or stage that has
 * not finished reports the current time as its finish time.
 */
export function runtimeEnvironment(facts: RuntimeFacts): Record<string, string> {
  const buildStarted = unixSeconds(facts.buildStartedAt);
  const now = unixSeconds(facts.now);
  const env: Env = {
    DRONE_BUILD_STATUS: facts.buildStatus,
    DRONE_BUILD_STARTED: buildStarted,
    DRONE_BUILD_FINISHED: now,
    DRONE_STAGE_STATUS: facts.stageStatus,
    DRONE_STAGE_STARTED: unixSeconds(facts.startedAt),
    DRONE_STAGE_FINISHED: now,
    DRONE_MACHINE: facts.runnerHost,
    DRONE_RUNNER_HOST: facts.runnerHost,
    DRONE_RUNNER_HOSTNAME: facts.runnerHost,
    DRONE_RUNNER_NAME: facts.runnerName,
    DRONE_RUNNER_PLATFORM: facts.runnerPlatform,
    CI_BUILD_STATUS: facts.buildStatus,
    CI_BUILD_STARTED: buildStarted,
    CI_BUILD_FINISHED: now,
  };
  setNonEmpty(env, 'CI_PIPELINE_STARTED', buildStarted);
  // runner-go sets the failed lists only when something failed.
  if (facts.buildStatus === 'failure') env.DRONE_FAILED_STAGES = (facts.failedStages ?? []).join(',');
  if (facts.stageStatus === 'failure') env.DRONE_FAILED_STEPS = (facts.failedSteps ?? []).join(',');
  return env;
}
