// Build-end notifications: a follower of the event log that, for each build's end, sends
// the email its repo (or the server) asks for and POSTs the build to the repo's webhook.
//
// Contract: once per build end, across restarts. The follower's place (row `notify:build-end`
// of `checkpoints`) moves past each end right after its notifications went out, so a crash
// repeats at most the one in flight (the email's Message-ID and the webhook's
// X-Runlog-Delivery are the same on a resend, for receivers that deduplicate). A failing
// SMTP server or webhook is logged and retried with backoff, then skipped with a log line;
// while a target stays down each later message gets one try, so a dead target does not
// hold up the others for long. Nothing here appends to a build's stream: a notification
// never changes a build.
import { setTimeout as sleep } from 'node:timers/promises';
import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import type { Database } from '../events/database.ts';
import type { Checkpoint } from '../events/checkpoint.ts';
import type { EventStore } from '../events/event-store.ts';
import { markFollowerStart, runFollower, writeFollowerCheckpoint } from '../events/follower-checkpoint.ts';
import { repoJson } from '../api/drone-json.ts';
import type { SystemInfo } from '../pipeline/trigger.ts';
import { buildSnapshots, type BuildSnapshot, type DroneBuild } from '../live/build-snapshots.ts';
import { readStepLog, storedSize } from '../logs/log-store.ts';
import { builds, repos } from '../projections/tables.ts';
import { openRepoSecret, type RepoSecretKey } from '../forge/repo-secrets.ts';
import { buildLink } from '../forge/status-follower.ts';
import { signBody, SIGNATURE_HEADER } from '../webhooks/signature.ts';
import { buildMail, logTail, TAIL_LINES, type FailedStep } from './build-mail.ts';
import { effectiveEmail, emailReason, NOTIFY_ON, VERDICTS, type NotifyOn } from './notify-decision.ts';

export const CHECKPOINT_NAME = 'notify:build-end';

export interface NotifyConfig {
  /** RUNLOG_SMTP_URL (smtp:// or smtps://, credentials in it) and RUNLOG_SMTP_FROM; absent: no email. */
  readonly smtp?: { readonly url: string; readonly from: string };
  /** RUNLOG_NOTIFY_EMAIL: recipients of repos that name none. */
  readonly recipients: readonly string[];
  /** RUNLOG_NOTIFY_ON: when repos without their own `notify_on` mail. */
  readonly on: readonly NotifyOn[];
  /** Pauses between tries of one notification; default 2, 10, 30 s (four tries). */
  readonly retryDelaysMs?: readonly number[];
  /** Per try; default 15 s. */
  readonly timeoutMs?: number;
}

/** A structured log line (pino's shape: fields, then words). */
export type NotifyLog = (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;

const EMAIL = /^[^\s@,<>]+@[^\s@,<>]+$/;

/** Reads RUNLOG_SMTP_URL, RUNLOG_SMTP_FROM, RUNLOG_NOTIFY_EMAIL and RUNLOG_NOTIFY_ON. Throws saying what is wrong (never quoting the URL: it may hold a password). */
export function notifyConfigFromEnv(env: Record<string, string | undefined> = process.env): NotifyConfig {
  const list = (text: string | undefined) => (text ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
  const recipients = list(env.RUNLOG_NOTIFY_EMAIL);
  const bad = recipients.find((address) => !EMAIL.test(address));
  if (bad !== undefined) throw new Error(`RUNLOG_NOTIFY_EMAIL: expected email addresses separated by commas, got '${bad.slice(0, 80)}'`);
  const on = env.RUNLOG_NOTIFY_ON === undefined ? (['failure', 'change'] as NotifyOn[]) : list(env.RUNLOG_NOTIFY_ON);
  const unknown = on.find((word) => !(NOTIFY_ON as readonly string[]).includes(word));
  if (unknown !== undefined) throw new Error(`RUNLOG_NOTIFY_ON: expected some of success, failure, change separated by commas, got '${unknown.slice(0, 40)}'`);
  const config = { recipients, on: [...new Set(on)] as NotifyOn[] };
  const url = env.RUNLOG_SMTP_URL;
  if (!url) return config;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {}
  if (!parsed || !/^smtps?:$/.test(parsed.protocol) || !parsed.hostname) throw new Error('RUNLOG_SMTP_URL: expected smtp://[user:password@]host[:port] or smtps://...');
  const from = env.RUNLOG_SMTP_FROM || `runlog@${parsed.hostname}`;
  if (!/^([^<>]*<)?[^\s@,<>]+@[^\s@,<>]+>?$/.test(from)) throw new Error(`RUNLOG_SMTP_FROM: expected an address like 'runlog <ci@example.com>', got '${from.slice(0, 80)}'`);
  return { ...config, smtp: { url, from } };
}

/** Where a target is, without what may be secret in its URL (a password, a token in the path). */
export const redactedTarget = (url: string) => {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(not a URL)';
  }
};

export interface NotifierOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly config: NotifyConfig;
  readonly signal: AbortSignal;
  /** Opens the repos' sealed webhook secrets (the API's repo secret key). */
  readonly repoSecretKey: RepoSecretKey;
  /** The server's public address, for the build's link (read at each send: the port may be known late). */
  readonly system: () => SystemInfo;
  /** Resolves once the views have applied the log up to `checkpoint` (repos, builds, steps are read from them). */
  readonly waitForProjections: (checkpoint: Checkpoint, signal: AbortSignal) => Promise<void>;
  readonly log: NotifyLog;
  readonly version?: string;
  readonly pollIntervalMs?: number;
}

/** Fixes a first start's place before the server listens: the log's end (no mail about history). */
export const markNotifyStart = (database: Database, store: EventStore) => markFollowerStart(database, store, CHECKPOINT_NAME);

type RepoRow = typeof repos.$inferSelect;

/** Runs until `signal` aborts, from where it stopped (or where `markNotifyStart` put it). */
export async function runBuildEndNotifier(options: NotifierOptions): Promise<void> {
  const { database, store, config, signal, log } = options;
  const delays = config.retryDelaysMs ?? [2000, 10_000, 30_000];
  const timeoutMs = config.timeoutMs ?? 15_000;
  const down = new Set<string>();
  // nodemailer is imported only when SMTP is configured: a server without it never loads it.
  const mailer = config.smtp
    ? (await import('nodemailer')).default.createTransport({ url: config.smtp.url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs })
    : undefined;

  /** Tries `send` until it succeeds or the tries run out; false when it never did. */
  async function deliver(target: string, fields: Record<string, unknown>, what: string, send: () => Promise<void>): Promise<boolean> {
    const tries = down.has(target) ? 1 : delays.length + 1;
    for (let attempt = 1; attempt <= tries && !signal.aborted; attempt += 1) {
      try {
        await send();
        if (down.delete(target)) log('info', { ...fields, target }, `${what} to ${target} works again`);
        return true;
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        const last = attempt === tries;
        log(last ? 'error' : 'warn', { ...fields, target, attempt, tries, err: problem }, last ? `${what} to ${target} failed after ${tries} tr${tries === 1 ? 'y' : 'ies'}; skipped` : `${what} to ${target} failed (try ${attempt} of ${tries}); trying again`);
        if (!last) await sleep(delays[attempt - 1]!, undefined, { signal }).catch(() => {});
      }
    }
    if (!signal.aborted) down.add(target);
    return false;
  }

  async function email(end: BuildSnapshot, repo: RepoRow, previous: string | undefined): Promise<void> {
    if (!mailer || !config.smtp) return;
    const { recipients, on } = effectiveEmail(repo, config);
    if (recipients.length === 0) return;
    const build = end.build;
    const reason = emailReason(build.status, previous, on);
    if (!reason) return;
    const mail = buildMail({
      slug: repo.slug,
      build,
      link: buildLink(options.system(), repo.slug, build.number),
      reason,
      ...(previous !== undefined ? { previousStatus: previous } : {}),
      ...(await failedStep(database, end.buildId, build)),
    });
    const fields = { repo: repo.slug, build: build.number, status: build.status };
    const target = redactedTarget(config.smtp.url);
    const sent = await deliver(target, fields, `email about ${repo.slug}#${build.number}`, async () => {
      await mailer.sendMail({
        from: config.smtp!.from,
        to: [...recipients],
        subject: mail.subject,
        text: mail.text,
        // The same on a resend after a crash: mail clients and servers fold duplicates.
        messageId: `<${end.buildId}.${build.number}.${end.position}@runlog>`,
      });
    });
    if (sent) log('info', { ...fields, reason, recipients: recipients.length }, `email about ${repo.slug}#${build.number} (${build.status}) sent`);
  }

  async function webhook(end: BuildSnapshot, repo: RepoRow, previous: string | undefined): Promise<void> {
    if (!repo.notifyWebhook) return;
    const fields = { repo: repo.slug, build: end.build.number, status: end.build.status };
    let secret: string;
    try {
      secret = openRepoSecret(options.repoSecretKey, repo.id, 'notifyWebhookSecret', repo.notifyWebhookSecret);
    } catch (error) {
      // Sending it unsigned would teach the receiver to accept unsigned posts: skip, and say why.
      log('error', fields, `repo webhook of ${repo.slug}: ${(error as Error).message}; not sent`);
      return;
    }
    const body = JSON.stringify({ event: 'build', action: 'ended', repo: repoJson(repo), build: end.build, previous_status: previous ?? '' });
    await deliver(redactedTarget(repo.notifyWebhook), fields, `repo webhook of ${repo.slug}#${end.build.number}`, async () => {
      const response = await fetch(repo.notifyWebhook, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': `runlog/${options.version ?? 'dev'}`,
          'x-runlog-event': 'build',
          'x-runlog-delivery': end.position,
          ...(secret ? { [SIGNATURE_HEADER]: signBody(secret, body) } : {}),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.body?.cancel().catch(() => {});
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    }).then((sent) => {
      if (sent) log('info', fields, `repo webhook of ${repo.slug}#${end.build.number} sent`);
    });
  }

  await runFollower(database, store, {
    name: CHECKPOINT_NAME,
    signal,
    ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    onBatch: async (batch, checkpoint) => {
      // A build's end is its BuildFinished: recorded once, with every stage ended and the
      // build's last status (nothing is decided after it; a restart makes a new build).
      const ends = (await buildSnapshots(store, batch)).filter((snapshot) => snapshot.type === 'BuildFinished');
      if (ends.length > 0) await options.waitForProjections(ends.at(-1)!.checkpoint, signal);
      const rows = ends.length > 0 ? await database.db.select().from(repos).where(inArray(repos.id, [...new Set(ends.map((end) => end.repoId))])) : [];
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const end of ends) {
        const repo = byId.get(end.repoId);
        if (repo) {
          const previous = await previousVerdict(database, end.build);
          await Promise.all([email(end, repo, previous), webhook(end, repo, previous)]);
        }
        if (signal.aborted) return; // not sent: the place stays before it, it goes out next time
        await writeFollowerCheckpoint(database, CHECKPOINT_NAME, end.checkpoint);
      }
      await writeFollowerCheckpoint(database, CHECKPOINT_NAME, checkpoint);
    },
    onError: (error) => log('error', { err: error instanceof Error ? error.message : String(error) }, 'build-end notifications stopped; following again in 1 s'),
  });
  mailer?.close();
}

/** The status of the latest earlier build of the same ref that ended with a verdict (Drone's DRONE_PREV_BUILD_STATUS, without killed builds). */
async function previousVerdict(database: Database, build: DroneBuild): Promise<string | undefined> {
  const [row] = await database.db
    .select({ status: builds.status })
    .from(builds)
    .where(and(eq(builds.repoId, build.repo_id), eq(builds.ref, build.ref), lt(builds.number, build.number), inArray(builds.status, [...VERDICTS])))
    .orderBy(desc(builds.number))
    .limit(1);
  return row?.status;
}

/** Bytes of a log's end read for its tail: enough for 50 long lines, never the whole of a huge log. */
const TAIL_BYTES = 64 * 1024;

/** The first failed step (stages in order; an ignored failure does not count) and its log's tail, from the log store (masked there by the runner). */
async function failedStep(database: Database, buildId: string, build: DroneBuild): Promise<{ failed?: FailedStep }> {
  for (const stage of [...build.stages].sort((a, b) => a.number - b.number)) {
    const step = stage.steps.find((candidate) => (candidate.status === 'failure' || candidate.status === 'error') && !candidate.errignore);
    if (!step) continue;
    const ref = { buildId, stage: stage.number, step: step.number };
    const end = await storedSize(database, ref);
    const chunks = await readStepLog(database, ref, end - TAIL_BYTES - 1);
    const text = chunks.map((chunk) => chunk.data).join('');
    return { failed: { stage: stage.name, step: step.name, exitCode: step.exit_code, logTail: logTail(text, TAIL_LINES, (chunks[0]?.offset ?? 0) > 0) } };
  }
  return {};
}
