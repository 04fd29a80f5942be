import { and, eq, isNull, lt } from 'drizzle-orm';
import type { Database } from '../events/database.ts';
import type { Checkpoint } from '../events/checkpoint.ts';
import type { EventStore } from '../events/event-store.ts';
import { IllegalCommand } from '../events/decider-errors.ts';
import { repoIdFor } from '../events/repo-decider.ts';
import { RepoSettings } from '../events/repo-events.ts';
import type { SystemInfo, Trigger } from '../pipeline/trigger.ts';
import { builds, repos } from '../projections/tables.ts';
import { handleBuildCommand } from '../server/command-handler.ts';
import { createBuild, type CreatedBuild } from '../server/create-build.ts';
import { blockReasonFor } from './build-gate.ts';
import { changedFiles } from './changed-files.ts';
import type { ConfigSource } from './config-source.ts';
import type { FetchLike } from './forge-api.ts';
import { parseGiteaHook } from './gitea-hook.ts';
import { parseGithubHook } from './github-hook.ts';
import { parseGitlabHook } from './gitlab-hook.ts';
import { hookHeaders, signatureHeader, signatureMatches } from './hook-signature.ts';
import { HookPayloadError, HookTrigger, skipReason, type Forge } from './hook-trigger.ts';
import { forgeAccessOf, openRepoSecret, RepoSecretError, type RepoSecretKey } from './repo-secrets.ts';

/**
 * `POST /hook`: a forge's webhook in, at most one build out. The order matters for safety:
 * the repo is found from the payload, the signature is checked against that repo's secret
 * (constant time), and only then is anything read from a forge or stored. A missing or
 * wrong signature is a 401 with nothing stored. A build made is a 201 with the build (an
 * `error` build for a missing or broken config too: it was made). Everything that builds
 * nothing (ping, ignored events, a deleted branch, `[ci skip]`, an inactive repo, a closed
 * pull request) is a 200 that says why, so the forge's delivery log tells the two apart and
 * reads as an explanation rather than an error.
 */
export type HookDeps = {
  database: Database;
  store: EventStore;
  /** Opens the repo's webhook secret and forge token (src/forge/repo-secrets.ts). */
  secretKey: RepoSecretKey;
  system: SystemInfo;
  configSource: ConfigSource;
  fetch?: FetchLike;
  now(): Date;
  log(message: string): void;
  /** Told after each cancel this intake appends (runlog server publishes the NATS cancel hint). */
  onCancelRequested?: (buildId: string) => void;
  /** Resolves once the views hold the log up to `checkpoint`: a cancel must see every build already made. */
  waitForProjections?: (checkpoint: Checkpoint | undefined) => Promise<void>;
};

export type HookRequest = { header(name: string): string | undefined; body: Uint8Array };
export type HookAnswer = { status: 200 | 201 | 400 | 401 | 404 | 503; body: { message: string } & Record<string, unknown> };

type RepoRow = typeof repos.$inferSelect;

const answer = (status: HookAnswer['status'], message: string, extra: Record<string, unknown> = {}): HookAnswer => ({ status, body: { message, ...extra } });

const PARSERS: Record<Forge, (event: string, payload: unknown) => unknown> = {
  github: parseGithubHook,
  gitea: parseGiteaHook,
  gitlab: parseGitlabHook,
};

/** Where each forge names the repository, whatever the event. */
function slugOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { repository, project } = payload as { repository?: { full_name?: unknown }; project?: { path_with_namespace?: unknown } };
  const name = repository?.full_name ?? project?.path_with_namespace;
  return typeof name === 'string' && name.includes('/') ? name : undefined;
}

function payloadOf(request: HookRequest): unknown {
  const text = new TextDecoder().decode(request.body);
  // GitHub's "application/x-www-form-urlencoded" content type wraps the JSON in `payload=`.
  const json = (request.header('content-type') ?? '').includes('application/x-www-form-urlencoded') ? (new URLSearchParams(text).get('payload') ?? '') : text;
  try {
    return JSON.parse(json);
  } catch {
    throw new HookPayloadError('body: not valid JSON (the hook must send application/json)');
  }
}

export function createHookIntake(deps: HookDeps) {
  // The opened webhook secret per repo, while its sealed text is unchanged: a hook does not pay for AES each time.
  const secrets = new Map<string, { sealed: string; clear: string }>();
  const secretOf = (repo: RepoRow): string => {
    const known = secrets.get(repo.id);
    if (known?.sealed === repo.webhookSecret) return known.clear;
    let clear = '';
    try {
      clear = openRepoSecret(deps.secretKey, repo.id, 'webhookSecret', repo.webhookSecret);
    } catch {
      deps.log(`runlog: the webhook secret of ${repo.slug} does not open with this server's key (RUNLOG_SECRET_KEY, or RUNLOG_ADMIN_TOKEN without it, changed?); POST /api/repos/${repo.slug}/repair makes a new one`);
    }
    secrets.set(repo.id, { sealed: repo.webhookSecret, clear });
    if (secrets.size > 10_000) secrets.delete(secrets.keys().next().value!);
    return clear;
  };

  async function receive(request: HookRequest): Promise<HookAnswer> {
    const headers = hookHeaders(request.header);
    if (!headers) return answer(400, 'not a forge webhook: expected an X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event header');
    if (!headers.signature) {
      return answer(401, `missing ${signatureHeader(headers.forge)}: set the repository's webhook secret (webhook_secret in its runlog settings) in the forge's webhook`);
    }
    let payload: unknown;
    try {
      payload = payloadOf(request);
    } catch (error) {
      return answer(400, (error as Error).message);
    }
    const slug = slugOf(payload);
    if (!slug) return answer(400, `${headers.event.slice(0, 60)} payload: names no repository (repository.full_name or project.path_with_namespace)`);
    const [repo] = await deps.database.db.select().from(repos).where(eq(repos.id, repoIdFor(slug))).limit(1);
    if (!repo) return answer(404, `repository ${slug.slice(0, 200)} is not registered in runlog: activate it first (POST /api/repos/{owner}/{name})`);
    if (!signatureMatches(headers.forge, request.body, headers.signature, secretOf(repo))) {
      return answer(401, `${signatureHeader(headers.forge)} does not match the webhook secret of ${repo.slug}`);
    }
    if (!repo.active) return answer(200, `repository ${repo.slug} is not active: no build`);

    let hook: HookTrigger;
    try {
      const parsed = HookTrigger.safeParse(PARSERS[headers.forge](headers.event, payload));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return answer(400, `${headers.event.slice(0, 60)} payload: ${issue.path.join('.')}: ${issue.message}`);
      }
      hook = parsed.data;
    } catch (error) {
      if (error instanceof HookPayloadError) return answer(400, error.message);
      throw error;
    }
    switch (hook.kind) {
      case 'ping':
        return answer(200, `pong: ${repo.slug} receives ${headers.forge} webhooks`);
      case 'ignore':
        return answer(200, hook.reason);
      case 'close': {
        const cancelled = await cancelUnfinished(repo, { event: 'pull_request', ref: hook.ref }, `pull request #${hook.pullRequest} was closed`);
        return answer(200, `pull request #${hook.pullRequest} closed: ${cancelled.length > 0 ? `cancelled build ${cancelled.map((n) => `#${n}`).join(', ')}` : 'no unfinished build to cancel'}`, { cancelled });
      }
      case 'build':
        return build(repo, hook);
      default: {
        const never: never = hook;
        return never;
      }
    }
  }

  async function build(repo: RepoRow, hook: Extract<HookTrigger, { kind: 'build' }>): Promise<HookAnswer> {
    const skip = skipReason(hook.trigger);
    if (skip) return answer(200, skip);
    let access: ReturnType<typeof forgeAccessOf>;
    try {
      access = forgeAccessOf(deps.secretKey, repo);
    } catch (error) {
      if (!(error instanceof RepoSecretError)) throw error;
      // The server's fault, not the forge's, and nothing is stored: once the token is set
      // again the forge's "redeliver" makes the build this push should have made.
      return answer(503, `the forge_token of ${repo.slug} does not open with this server's key (RUNLOG_SECRET_KEY changed?): set it again with PATCH /api/repos/${repo.slug}, then redeliver this webhook`);
    }
    const files =
      hook.trigger.changedFiles ?? (hook.compare ? await changedFiles(access, hook.compare, deps.fetch) : undefined);
    const trigger: Trigger = { ...hook.trigger, ...(files ? { changedFiles: files } : {}) };
    const config = await deps.configSource({ access, path: repo.configPath, commit: trigger.commit, ref: trigger.ref });
    const block = blockReasonFor(trigger, repo);
    const created = await createBuild(deps.database, {
      repo: { id: repo.id, owner: repo.owner, name: repo.name, settings: RepoSettings.parse(repo) },
      trigger,
      config: { path: repo.configPath, text: config.ok ? config.text : '' },
      ...(config.ok ? {} : { configError: config.message }),
      createdBy: '@hook',
      ...(block ? { block } : {}),
      system: deps.system,
      at: deps.now(),
    });
    const superseded = await autoCancel(repo, trigger, created.number);
    const status = statusOf(created);
    const why = status === 'blocked' ? ` (blocked: ${block === 'fork' ? 'a pull request from a fork' : 'the config changed in a protected repo'}; an admin must approve it)` : status === 'error' ? ' (error: see the build)' : '';
    return answer(201, `build #${created.number} created for ${repo.slug}${why}`, {
      build: { id: created.buildId, number: created.number, status },
      ...(superseded.length > 0 ? { cancelled: superseded } : {}),
    });
  }

  /** Drone's auto-cancel: a new build of a branch (push) or pull request cancels the older unfinished ones. */
  async function autoCancel(repo: RepoRow, trigger: Trigger, number: number): Promise<number[]> {
    if (trigger.event === 'push' && repo.autoCancelPushes) {
      return cancelUnfinished(repo, { event: 'push', branch: trigger.branch, below: number }, `superseded by build #${number}`);
    }
    if (trigger.event === 'pull_request' && repo.autoCancelPullRequests) {
      return cancelUnfinished(repo, { event: 'pull_request', ref: trigger.ref, below: number }, `superseded by build #${number}`);
    }
    return [];
  }

  async function cancelUnfinished(repo: RepoRow, which: { event: string; ref?: string; branch?: string; below?: number }, reason: string): Promise<number[]> {
    // The builds view may not hold the newest builds yet (hooks do not wait for it when they
    // create one): catch it up to the log's end, or a close would miss the build just made.
    await deps.waitForProjections?.((await deps.store.lastCheckpoint()) ?? undefined);
    const rows = await deps.database.db
      .select({ id: builds.id, number: builds.number })
      .from(builds)
      .where(
        and(
          eq(builds.repoId, repo.id),
          isNull(builds.finished),
          eq(builds.event, which.event),
          which.ref !== undefined ? eq(builds.ref, which.ref) : undefined,
          which.branch !== undefined ? eq(builds.branch, which.branch) : undefined,
          which.below !== undefined ? lt(builds.number, which.below) : undefined,
        ),
      );
    const cancelled: number[] = [];
    for (const row of rows) {
      try {
        await handleBuildCommand(deps.store, row.id, { type: 'RequestCancel', data: { by: '@hook', reason, at: deps.now().toISOString() } }, { actor: '@hook' });
        cancelled.push(row.number);
        deps.onCancelRequested?.(row.id);
      } catch (error) {
        // Finished or already cancelled since the view was read: nothing left to do.
        if (!(error instanceof IllegalCommand)) throw error;
      }
    }
    return cancelled.sort((a, b) => a - b);
  }

  return { receive };
}

function statusOf(created: CreatedBuild): string {
  const finished = created.events.find((event) => event.type === 'BuildFinished');
  if (finished) return finished.data.status;
  return created.events.some((event) => event.type === 'BuildBlocked') ? 'blocked' : 'pending';
}
