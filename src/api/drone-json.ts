import type { builds, repos, stages, steps } from '../projections/tables.ts';

/**
 * View rows as Drone's REST API spells them (`drone/core`), so Drone's clients and habits
 * carry over. Times are UNIX seconds, 0 when not yet, as Drone sends them. Ids are
 * runlog's (uuids, and `<build>:<stage>` for stages) where Drone has integers.
 */
type RepoRow = typeof repos.$inferSelect;
type BuildRow = typeof builds.$inferSelect;
type StageRow = typeof stages.$inferSelect;
type StepRow = typeof steps.$inferSelect;

const unix = (date: Date | null | undefined) => (date ? Math.floor(date.getTime() / 1000) : 0);

/** `webhookSecret`: the clear secret, given only when an admin asks (never stored or logged in clear); with it come the notification settings. */
export function repoJson(repo: RepoRow, counter = 0, webhookSecret?: string) {
  return {
    id: repo.id,
    namespace: repo.owner,
    name: repo.name,
    slug: repo.slug,
    git_http_url: repo.cloneUrl,
    default_branch: repo.defaultBranch,
    private: repo.visibility !== 'public',
    visibility: repo.visibility,
    active: repo.active,
    config_path: repo.configPath,
    trusted: repo.trusted,
    protected: repo.protected,
    timeout: repo.timeout,
    auto_cancel_pushes: repo.autoCancelPushes,
    auto_cancel_pull_requests: repo.autoCancelPullRequests,
    forge: repo.forge,
    forge_url: repo.forgeUrl,
    registry: repo.registry,
    // The admin's view only: who gets mail, and the webhook URL (Slack-style URLs are keys).
    // The webhook's secret is write-only: whether there is one is all an answer says.
    ...(webhookSecret !== undefined
      ? {
          webhook_secret: webhookSecret,
          notify_email: repo.notifyEmail,
          notify_on: repo.notifyOn,
          notify_webhook: repo.notifyWebhook,
          notify_webhook_signed: repo.notifyWebhookSecret !== '',
        }
      : {}),
    counter,
    created: unix(repo.created),
    updated: unix(repo.updated),
    version: repo.version,
  };
}

export function buildJson(build: BuildRow) {
  return {
    id: build.id,
    repo_id: build.repoId,
    trigger: build.trigger,
    number: build.number,
    parent: build.parent ?? 0,
    status: build.status,
    error: build.error ?? '',
    event: build.event,
    action: build.action,
    link: build.link,
    timestamp: unix(build.created),
    title: build.title,
    message: build.message,
    before: build.before,
    after: build.commit,
    ref: build.ref,
    source_repo: build.fork,
    source: build.sourceBranch || build.branch,
    target: build.targetBranch || build.branch,
    author_login: build.authorLogin,
    author_name: build.authorName,
    author_email: build.authorEmail,
    author_avatar: build.authorAvatar,
    sender: build.sender,
    params: build.params,
    cron: build.cron,
    deploy_to: build.deployTo,
    deploy_id: build.deployId ?? 0,
    started: unix(build.started),
    finished: unix(build.finished),
    created: unix(build.created),
    updated: unix(build.updated),
    version: build.version,
  };
}

export function stageJson(stage: StageRow, stageSteps: StepRow[]) {
  return {
    id: `${stage.buildId}:${stage.number}`,
    repo_id: stage.repoId,
    build_id: stage.buildId,
    number: stage.number,
    name: stage.name,
    kind: stage.kind,
    type: stage.type,
    status: stage.status,
    error: stage.error ?? '',
    errignore: stage.errignore,
    exit_code: stage.exitCode ?? 0,
    machine: stage.runnerName ?? '',
    os: stage.os,
    arch: stage.arch,
    variant: stage.variant,
    kernel: stage.kernel,
    limit: stage.concurrencyLimit ?? 0,
    attempt: stage.attempt,
    started: unix(stage.started),
    stopped: unix(stage.stopped),
    created: unix(stage.created),
    updated: unix(stage.updated),
    on_success: stage.onSuccess,
    on_failure: stage.onFailure,
    depends_on: stage.dependsOn,
    labels: stage.labels,
    steps: stageSteps.map(stepJson),
  };
}

export function stepJson(step: StepRow) {
  return {
    id: `${step.buildId}:${step.stage}:${step.number}`,
    step_id: `${step.buildId}:${step.stage}`,
    number: step.number,
    name: step.name,
    status: step.status,
    error: step.error ?? '',
    errignore: step.errignore,
    exit_code: step.exitCode ?? 0,
    started: unix(step.started),
    stopped: unix(step.stopped),
    image: step.image,
    detached: step.detached,
    skip_reason: step.skipReason ?? '',
    retries: step.retries,
    log_size: step.logSize ?? 0,
    log_sha256: step.logSha256 ?? '',
  };
}
