import { z } from 'zod';

/**
 * A repository's own stream (`repo-<uuid>`): its activation and settings changes are
 * audited like builds are. Field names are runlog's; the API maps them to Drone's JSON.
 */
export const repoStreamId = (repoId: string) => `repo-${repoId}`;

const settingFields = {
  cloneUrl: z.string(),
  defaultBranch: z.string().min(1),
  configPath: z.string().min(1),
  /** Stage timeout in minutes. */
  timeout: z.number().int().min(1).max(24 * 60),
  trusted: z.boolean(),
  /** Builds not triggered by an admin wait for approval. */
  protected: z.boolean(),
  visibility: z.enum(['public', 'private', 'internal']),
  /** A push cancels the older unfinished builds of its branch (Drone's `auto_cancel_pushes`). */
  autoCancelPushes: z.boolean(),
  /** A pull request's new build cancels its older unfinished ones (Drone's `auto_cancel_pull_requests`). */
  autoCancelPullRequests: z.boolean(),
  /** Whose API reads the config and takes commit statuses; `git`: config through git, no statuses. */
  forge: z.enum(['git', 'github', 'gitea', 'gitlab']),
  /** The forge's API base (https://api.github.com, https://gitea.example/api/v1, https://gitlab.example/api/v4); '' for the forge's public default. */
  forgeUrl: z.string(),
  /** The forge API token, sealed (src/secrets/sealed-value.ts); '' when none. Never in clear text here. */
  forgeToken: z.string(),
  /** The webhook secret, sealed; '' only for repos activated before hooks existed (repair gives one). */
  webhookSecret: z.string(),
  /** `host[:port]` an image build step pushes to, as `<registry>/<owner>/<name>`; '' pushes nowhere (the image stays on the runner). */
  registry: z.string(),
  /** Who gets the build-end email; empty: the server's RUNLOG_NOTIFY_EMAIL. */
  notifyEmail: z.array(z.string()),
  /** When the email goes out (see notify/notify-decision.ts); null: the server's RUNLOG_NOTIFY_ON, [] never. */
  notifyOn: z.array(z.enum(['success', 'failure', 'change'])).nullable(),
  /** A URL that gets each build's end as a JSON POST; '' none. */
  notifyWebhook: z.string(),
  /** Keys that POST's X-Runlog-Signature, sealed; '' unsigned. Never in clear text here. */
  notifyWebhookSecret: z.string(),
};

/** Settings a user may set at activation and change later (Drone's repo fields), with Drone's defaults. */
export const RepoSettings = z.object({
  cloneUrl: settingFields.cloneUrl.default(''),
  defaultBranch: settingFields.defaultBranch.default('main'),
  configPath: settingFields.configPath.default('.drone.yml'),
  timeout: settingFields.timeout.default(60),
  trusted: settingFields.trusted.default(false),
  protected: settingFields.protected.default(false),
  visibility: settingFields.visibility.default('private'),
  autoCancelPushes: settingFields.autoCancelPushes.default(false),
  autoCancelPullRequests: settingFields.autoCancelPullRequests.default(false),
  forge: settingFields.forge.default('git'),
  forgeUrl: settingFields.forgeUrl.default(''),
  forgeToken: settingFields.forgeToken.default(''),
  webhookSecret: settingFields.webhookSecret.default(''),
  registry: settingFields.registry.default(''),
  notifyEmail: settingFields.notifyEmail.default([]),
  notifyOn: settingFields.notifyOn.default(null),
  notifyWebhook: settingFields.notifyWebhook.default(''),
  notifyWebhookSecret: settingFields.notifyWebhookSecret.default(''),
});
/** Settings stored sealed, and the context each is sealed under (a sealed value opens only in its own repo and field). */
export type SealedSetting = 'forgeToken' | 'webhookSecret' | 'notifyWebhookSecret';
export const sealedSettingContext = (repoId: string, field: SealedSetting) => `repo:${repoId}:${field}`;
/** A change names only what changed: no defaults, or reading it back would reset the rest. */
export const RepoSettingsChanges = z.object(settingFields).partial();
export type RepoSettings = z.infer<typeof RepoSettings>;

const at = z.string();

export const RepoActivated = z.object({
  type: z.literal('RepoActivated'),
  data: z.object({ repoId: z.string(), owner: z.string(), name: z.string(), settings: RepoSettings, by: z.string(), at }),
});
export const RepoUpdated = z.object({
  type: z.literal('RepoUpdated'),
  data: z.object({ repoId: z.string(), changes: RepoSettingsChanges, by: z.string(), at }),
});
export const RepoDeactivated = z.object({
  type: z.literal('RepoDeactivated'),
  data: z.object({ repoId: z.string(), by: z.string(), at }),
});

export const RepoEvent = z.discriminatedUnion('type', [RepoActivated, RepoUpdated, RepoDeactivated]);
export type RepoEvent = z.infer<typeof RepoEvent>;
export const repoEventTypes = new Set(RepoEvent.options.map((option) => option.shape.type.value));
