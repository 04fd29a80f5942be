// The projections' views, as drizzle sees them. Every row here is derived from the event log
// only (DESIGN.md "Projections"): nothing else writes these tables, and
// `runlog projections rebuild` may truncate and refill them at any time. drizzle-kit
// generates their migration from this file (see drizzle.config.ts).
//
// Conventions: column names are Drone's where Drone has the field (the API maps rows to
// Drone's JSON one to one); times are `timestamptz` (null until the fact happened);
// strings a forge may leave out are '' rather than null, as Drone stores them; facts that
// exist only once something happened (an exit code, a runner, an error) are null until then.
// There are no foreign keys: projections are written in batches per table, and a view row
// never needs another view's row to be valid.
import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const word = (name: string) => text(name).notNull().default('');

/** One row per repository ever activated (`repo-<id>` stream); deactivation keeps the row with `active = false`. */
export const repos = pgTable(
  'repos',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull(),
    name: text('name').notNull(),
    /** owner/name. Unique: the repo API keeps one repo id per slug (it reactivates, never re-adds). */
    slug: text('slug').notNull(),
    cloneUrl: word('clone_url'),
    defaultBranch: text('default_branch').notNull().default('main'),
    configPath: text('config_path').notNull().default('.drone.yml'),
    /** Stage timeout in minutes. */
    timeout: integer('timeout').notNull().default(60),
    trusted: boolean('trusted').notNull().default(false),
    protected: boolean('protected').notNull().default(false),
    visibility: text('visibility').notNull().default('private'),
    autoCancelPushes: boolean('auto_cancel_pushes').notNull().default(false),
    autoCancelPullRequests: boolean('auto_cancel_pull_requests').notNull().default(false),
    /** 'git' | 'github' | 'gitea' | 'gitlab' */
    forge: text('forge').notNull().default('git'),
    forgeUrl: word('forge_url'),
    /** Sealed (AES-256-GCM), as the events carry it. */
    forgeToken: word('forge_token'),
    /** Sealed (AES-256-GCM), as the events carry it. */
    webhookSecret: word('webhook_secret'),
    /** `host[:port]` images are pushed to; '' none. */
    registry: word('registry'),
    notifyEmail: jsonb('notify_email').$type<string[]>().notNull().default([]),
    /** null: the server's default (RUNLOG_NOTIFY_ON). */
    notifyOn: jsonb('notify_on').$type<Array<'success' | 'failure' | 'change'> | null>(),
    notifyWebhook: word('notify_webhook'),
    /** Sealed (AES-256-GCM), as the events carry it. */
    notifyWebhookSecret: word('notify_webhook_secret'),
    active: boolean('active').notNull().default(true),
    created: at('created').notNull(),
    updated: at('updated').notNull(),
    /** Version of the repo's stream that this row reflects. */
    version: integer('version').notNull(),
  },
  (table) => [uniqueIndex('repos_slug_idx').on(table.slug)],
);

/** One row per build (`build-<id>` stream). */
export const builds = pgTable(
  'builds',
  {
    id: uuid('id').primaryKey(),
    repoId: text('repo_id').notNull(),
    number: integer('number').notNull(),
    /** Drone's words: pending, blocked, running, success, failure, killed, error, declined. */
    status: text('status').notNull(),
    error: text('error'),
    event: text('event').notNull(),
    action: word('action'),
    ref: word('ref'),
    branch: word('branch'),
    sourceBranch: word('source_branch'),
    targetBranch: word('target_branch'),
    /** The commit built (Drone's `after`). */
    commit: word('commit'),
    before: word('before'),
    message: word('message'),
    title: word('title'),
    link: word('link'),
    authorLogin: word('author_login'),
    authorName: word('author_name'),
    authorEmail: word('author_email'),
    authorAvatar: word('author_avatar'),
    /** The forge user (or API token's user) the trigger came from. */
    sender: word('sender'),
    /** Who created the build: Drone's `trigger` ('@hook', '@cron', a user). */
    trigger: word('trigger'),
    /** Fork a pull request comes from (owner/name); '' when none. */
    fork: word('fork'),
    params: jsonb('params').$type<Record<string, string>>().notNull().default({}),
    cron: word('cron'),
    deployTo: word('deploy_to'),
    deployId: integer('deploy_id'),
    /** Number of the build this one restarts. */
    parent: integer('parent'),
    configPath: word('config_path'),
    created: at('created').notNull(),
    started: at('started'),
    finished: at('finished'),
    updated: at('updated').notNull(),
    /** Version of the build's stream that this row reflects. */
    version: integer('version').notNull(),
  },
  (table) => [
    // Listing a repo's builds newest first, and finding one by number.
    uniqueIndex('builds_repo_number_idx').on(table.repoId, table.number.desc()),
    // Filtering a repo's builds by branch (API paging, badges, auto-cancel).
    index('builds_repo_branch_idx').on(table.repoId, table.branch, table.number.desc()),
    // Builds not yet finished (Drone's /api/builds/incomplete, the reaper's view).
    index('builds_incomplete_idx').on(table.repoId).where(sql`${table.finished} is null`),
  ],
);

/** One row per stage (pipeline) of a build's plan; (build_id, number) names it as the events do. */
export const stages = pgTable(
  'stages',
  {
    buildId: uuid('build_id').notNull(),
    number: integer('number').notNull(),
    repoId: text('repo_id').notNull(),
    name: text('name').notNull(),
    /** Drone's `kind`: always 'pipeline'. */
    kind: text('kind').notNull().default('pipeline'),
    /** 'docker' | 'exec' */
    type: text('type').notNull(),
    status: text('status').notNull(),
    attempt: integer('attempt').notNull().default(0),
    runnerId: text('runner_id'),
    /** Drone's `machine`. */
    runnerName: text('runner_name'),
    os: word('os'),
    arch: word('arch'),
    variant: word('variant'),
    kernel: word('kernel'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    dependsOn: jsonb('depends_on').$type<string[]>().notNull().default([]),
    onSuccess: boolean('on_success').notNull().default(true),
    onFailure: boolean('on_failure').notNull().default(false),
    errignore: boolean('errignore').notNull().default(false),
    exitCode: integer('exit_code'),
    error: text('error'),
    concurrencyLimit: integer('concurrency_limit'),
    started: at('started'),
    stopped: at('stopped'),
    created: at('created').notNull(),
    updated: at('updated').notNull(),
  },
  (table) => [
    primaryKey({ name: 'stages_pk', columns: [table.buildId, table.number] }),
    // Concurrency limits count a repo's running stages of one pipeline name.
    index('stages_repo_name_status_idx').on(table.repoId, table.name, table.status),
  ],
);

/** One row per step (services included) of every stage of a build's plan. */
export const steps = pgTable(
  'steps',
  {
    buildId: uuid('build_id').notNull(),
    stage: integer('stage').notNull(),
    number: integer('number').notNull(),
    name: text('name').notNull(),
    status: text('status').notNull(),
    exitCode: integer('exit_code'),
    error: text('error'),
    image: word('image'),
    /** Services and `detach: true` steps. */
    detached: boolean('detached').notNull().default(false),
    /** `failure: ignore` */
    errignore: boolean('errignore').notNull().default(false),
    logSize: integer('log_size'),
    logSha256: text('log_sha256'),
    /** Why it never ran, in words, when it was skipped. */
    skipReason: text('skip_reason'),
    /** How many times it was retried (`StepRetried`). */
    retries: integer('retries').notNull().default(0),
    started: at('started'),
    stopped: at('stopped'),
  },
  (table) => [primaryKey({ name: 'steps_pk', columns: [table.buildId, table.stage, table.number] })],
);

/**
 * Stages queued and ready to run: a row exists exactly while the stage is queued (by
 * `StageQueued` or `StageRequeued`) and not yet claimed, cancelled, skipped or finished. The
 * dispatcher publishes from here; `labels_key` and the platform name the pool's subject.
 */
export const queue = pgTable(
  'queue',
  {
    buildId: uuid('build_id').notNull(),
    stage: integer('stage').notNull(),
    attempt: integer('attempt').notNull(),
    repoId: text('repo_id').notNull(),
    /** The stage's pipeline name: concurrency limits count stages of one name. */
    name: text('name').notNull(),
    /** 'docker' | 'exec': only a runner with that engine may take it. */
    type: text('type').notNull(),
    os: word('os'),
    arch: word('arch'),
    variant: word('variant'),
    kernel: word('kernel'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    /** `labelsKey(labels)`: a short hash of the sorted `k=v` labels, or 'any'. */
    labelsKey: text('labels_key').notNull(),
    concurrencyLimit: integer('concurrency_limit'),
    queuedAt: at('queued_at').notNull(),
    /** The runner the offer is routed to: a restart's first attempt goes to the runner that keeps the workspace. */
    routeRunner: text('route_runner'),
  },
  (table) => [
    primaryKey({ name: 'queue_pk', columns: [table.buildId, table.stage] }),
    index('queue_pool_idx').on(table.os, table.arch, table.labelsKey, table.queuedAt),
  ],
);

/** Per repository: the highest build number seen and how many builds there are. */
export const repoCounters = pgTable('repo_counters', {
  repoId: text('repo_id').primaryKey(),
  lastNumber: integer('last_number').notNull(),
  builds: integer('builds').notNull(),
});

/** One row per user (`user-<login>` stream) while it exists. */
export const users = pgTable('users', {
  login: text('login').primaryKey(),
  email: word('email'),
  admin: boolean('admin').notNull().default(false),
  active: boolean('active').notNull().default(true),
  created: at('created').notNull(),
  updated: at('updated').notNull(),
});

/** Live API tokens by their sha256 (hex): authentication looks a token up by its digest, never by the token. */
export const userTokens = pgTable(
  'user_tokens',
  {
    tokenId: text('token_id').primaryKey(),
    sha256: text('sha256').notNull(),
    login: text('login').notNull(),
    created: at('created').notNull(),
  },
  (table) => [uniqueIndex('user_tokens_sha256_idx').on(table.sha256), index('user_tokens_login_idx').on(table.login)],
);

/** What an admin granted a user on a repository (read, write or admin). */
export const repoPermissions = pgTable(
  'repo_permissions',
  {
    repoId: text('repo_id').notNull(),
    login: text('login').notNull(),
    permission: text('permission').notNull(),
    updated: at('updated').notNull(),
  },
  (table) => [primaryKey({ name: 'repo_permissions_pk', columns: [table.repoId, table.login] }), index('repo_permissions_login_idx').on(table.login)],
);

/** A repository's secrets (`secrets-<repo id>` stream): the value only sealed (AES-256-GCM), as the events hold it. */
export const secrets = pgTable(
  'secrets',
  {
    repoId: text('repo_id').notNull(),
    name: text('name').notNull(),
    sealed: text('sealed').notNull(),
    pullRequest: boolean('pull_request').notNull().default(false),
    pullRequestPush: boolean('pull_request_push').notNull().default(false),
    created: at('created').notNull(),
    updated: at('updated').notNull(),
  },
  (table) => [primaryKey({ name: 'secrets_pk', columns: [table.repoId, table.name] })],
);

/** A repository's cron jobs (`cron-<repo id>` stream), with when each runs next. */
export const crons = pgTable(
  'crons',
  {
    repoId: text('repo_id').notNull(),
    name: text('name').notNull(),
    expr: text('expr').notNull(),
    branch: text('branch').notNull(),
    disabled: boolean('disabled').notNull().default(false),
    /** Null when the expression never matches again (or is disabled). */
    next: at('next'),
    /** The last slot fired, the build it created (null: skipped) and when it fired. */
    lastScheduled: at('last_scheduled'),
    lastBuildId: text('last_build_id'),
    lastFired: at('last_fired'),
    created: at('created').notNull(),
    updated: at('updated').notNull(),
    /** Version of the repo's cron stream this row reflects. */
    version: integer('version').notNull(),
  },
  (table) => [primaryKey({ name: 'crons_pk', columns: [table.repoId, table.name] }), index('crons_next_idx').on(table.next)],
);

/** Every projection table by its logical name; projections and the writer name tables this way. */
export const projectionTables = { repos, builds, stages, steps, queue, repoCounters, users, userTokens, repoPermissions, secrets, crons } as const;
export type ProjectionTables = typeof projectionTables;
export type TableName = keyof ProjectionTables;
