import { z } from 'zod';

/**
 * What started a build: the forge's (or the API's) facts, as stored in `BuildCreated`.
 * The compiler evaluates `when`/`trigger` conditions against it and computes the
 * `DRONE_*` / `CI_*` variables from it, so it holds everything those need.
 * Field names follow Drone's vocabulary (event names, `target`, `action`).
 */
export const BuildEvent = z.enum(['push', 'pull_request', 'tag', 'promote', 'rollback', 'cron', 'custom']);
export type BuildEvent = z.infer<typeof BuildEvent>;

export const Author = z.object({
  login: z.string().default(''),
  name: z.string().default(''),
  email: z.string().default(''),
  avatar: z.string().default(''),
});

export const Trigger = z.object({
  event: BuildEvent,
  /** pull_request: opened, synchronize, reopened, ...; empty for other events. */
  action: z.string().default(''),
  /** Full ref: refs/heads/main, refs/tags/v1.2.0, refs/pull/7/head. */
  ref: z.string(),
  /** Branch the build runs for; for a pull request the target branch, as Drone does. */
  branch: z.string().default(''),
  /** Pull request source branch. */
  sourceBranch: z.string().default(''),
  /** Pull request target branch. */
  targetBranch: z.string().default(''),
  commit: z.string(),
  before: z.string().default(''),
  after: z.string().default(''),
  message: z.string().default(''),
  title: z.string().default(''),
  link: z.string().default(''),
  author: Author.default({ login: '', name: '', email: '', avatar: '' }),
  /** Who triggered it (the forge user or the API token's user). */
  sender: z.string().default(''),
  pullRequest: z.number().int().positive().optional(),
  /** Fork the pull request comes from (owner/name), when it is from a fork. */
  fork: z.string().default(''),
  /** Deploy target for promote/rollback. */
  deployTo: z.string().default(''),
  deployId: z.number().int().optional(),
  cron: z.string().default(''),
  /** Files the trigger changed, when the forge told us; `paths` conditions use them. */
  changedFiles: z.array(z.string()).optional(),
  /** Custom build parameters (API `POST .../builds?KEY=value`, promote parameters). */
  params: z.record(z.string(), z.string()).default({}),
});
export type Trigger = z.infer<typeof Trigger>;
export type TriggerInput = z.input<typeof Trigger>;

/** The repository as the compiler and the step environment see it. */
export const RepoInfo = z.object({
  owner: z.string(),
  name: z.string(),
  /** owner/name */
  slug: z.string(),
  cloneUrl: z.string().default(''),
  link: z.string().default(''),
  defaultBranch: z.string().default('main'),
  private: z.boolean().default(false),
  visibility: z.enum(['public', 'private', 'internal']).default('public'),
  trusted: z.boolean().default(false),
  /** Stage timeout in minutes (Drone's repo timeout, default 60). */
  timeout: z.number().int().positive().default(60),
  configPath: z.string().default('.drone.yml'),
});
export type RepoInfo = z.infer<typeof RepoInfo>;
export type RepoInfoInput = z.input<typeof RepoInfo>;

/** The runlog instance, for `DRONE_SYSTEM_*` and the `instance` condition. */
export const SystemInfo = z.object({
  host: z.string().default('localhost:8080'),
  proto: z.string().default('http'),
  version: z.string().default('0.1.0'),
});
export type SystemInfo = z.infer<typeof SystemInfo>;

/** Everything the compiler needs besides the YAML text. */
export const CompileContext = z.object({
  trigger: Trigger,
  repo: RepoInfo,
  build: z.object({ number: z.number().int().positive(), parent: z.number().int().nonnegative().default(0), createdAt: z.string() }),
  system: SystemInfo.default({ host: 'localhost:8080', proto: 'http', version: '0.1.0' }),
});
export type CompileContext = z.infer<typeof CompileContext>;
export type CompileContextInput = z.input<typeof CompileContext>;
