import { z } from 'zod';
import type { SealedSetting } from '../events/repo-events.ts';
import { ApiError, describeZodError } from './errors.ts';

/**
 * Request bodies and parameters: zod is the single source of truth; the handlers get
 * typed values or the caller gets a 400 naming the field. Field names are Drone's.
 */
const SLUG_PART = /^[A-Za-z0-9_.-]{1,100}$/;

export const RepoBody = z
  .object({
    clone_url: z.union([z.url(), z.literal('')]),
    default_branch: z.string().min(1).max(255),
    config_path: z.string().min(1).max(255).refine((path) => !path.startsWith('/') && !path.split('/').includes('..'), 'must be a path inside the repository'),
    timeout: z.number().int().min(1).max(24 * 60),
    trusted: z.boolean(),
    protected: z.boolean(),
    visibility: z.enum(['public', 'private', 'internal']),
    auto_cancel_pushes: z.boolean(),
    auto_cancel_pull_requests: z.boolean(),
    forge: z.enum(['git', 'github', 'gitea', 'gitlab']),
    forge_url: z.union([z.url({ protocol: /^https?$/ }), z.literal('')]),
    forge_token: z.string().max(4096),
    /** Given at activation, or generated; `POST .../repair` rotates it. */
    webhook_secret: z.string().min(16, 'must be at least 16 characters').max(256),
    /** `host[:port]` (and an optional path) the image build pushes `<registry>/<owner>/<name>` to; '' none. */
    registry: z.union([z.string().regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._-]+)*$/, 'expected host[:port], like registry.example:5000'), z.literal('')]),
    notify_email: z.array(z.email()).max(50),
    /** null: the server's RUNLOG_NOTIFY_ON; [] never. */
    notify_on: z
      .array(z.enum(['success', 'failure', 'change']))
      .max(3)
      .refine((on) => new Set(on).size === on.length, 'each of success, failure, change at most once')
      .nullable(),
    notify_webhook: z.union([z.url({ protocol: /^https?$/ }), z.literal('')]),
    /** Write-only: never in an answer. '' sends the webhook unsigned. */
    notify_webhook_secret: z.union([z.string().min(16, 'must be at least 16 characters').max(256), z.literal('')]),
  })
  .partial()
  .strict();
export type RepoBody = z.infer<typeof RepoBody>;

/** `config`: the pipeline text to run instead of the repo's config at the commit (absent: read from the forge or git). */
export const BuildBody = z.object({ config: z.string().max(1024 * 1024).optional() }).strict();

/** Seals a secret setting of this repo (sealed-value.ts); only sealed text reaches the events. */
export type SealSetting = (field: SealedSetting, value: string) => string;

export function settingsFromBody(body: RepoBody, seal: SealSetting) {
  const settings: Record<string, unknown> = {};
  if (body.clone_url !== undefined) settings.cloneUrl = body.clone_url;
  if (body.default_branch !== undefined) settings.defaultBranch = body.default_branch;
  if (body.config_path !== undefined) settings.configPath = body.config_path;
  if (body.timeout !== undefined) settings.timeout = body.timeout;
  if (body.trusted !== undefined) settings.trusted = body.trusted;
  if (body.protected !== undefined) settings.protected = body.protected;
  if (body.visibility !== undefined) settings.visibility = body.visibility;
  if (body.auto_cancel_pushes !== undefined) settings.autoCancelPushes = body.auto_cancel_pushes;
  if (body.auto_cancel_pull_requests !== undefined) settings.autoCancelPullRequests = body.auto_cancel_pull_requests;
  if (body.forge !== undefined) settings.forge = body.forge;
  if (body.forge_url !== undefined) settings.forgeUrl = body.forge_url.replace(/\/+$/, '');
  if (body.forge_token !== undefined) settings.forgeToken = body.forge_token === '' ? '' : seal('forgeToken', body.forge_token);
  if (body.webhook_secret !== undefined) settings.webhookSecret = seal('webhookSecret', body.webhook_secret);
  if (body.registry !== undefined) settings.registry = body.registry;
  if (body.notify_email !== undefined) settings.notifyEmail = body.notify_email;
  if (body.notify_on !== undefined) settings.notifyOn = body.notify_on;
  if (body.notify_webhook !== undefined) settings.notifyWebhook = body.notify_webhook;
  if (body.notify_webhook_secret !== undefined) settings.notifyWebhookSecret = body.notify_webhook_secret === '' ? '' : seal('notifyWebhookSecret', body.notify_webhook_secret);
  return settings;
}

/** Parses `text` as JSON and then with `schema`; an empty body is `{}`. */
export function parseBody<T>(schema: z.ZodType<T>, text: string): T {
  let json: unknown = {};
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'body: not valid JSON');
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError(400, describeZodError(parsed.error));
  return parsed.data;
}

export function slugParts(owner: string, name: string): { owner: string; name: string } {
  if (!SLUG_PART.test(owner)) throw new ApiError(400, `owner: '${owner.slice(0, 100)}' is not a valid name (letters, digits, '.', '_', '-')`);
  if (!SLUG_PART.test(name)) throw new ApiError(400, `name: '${name.slice(0, 100)}' is not a valid name (letters, digits, '.', '_', '-')`);
  return { owner, name };
}

export function positiveInt(value: string | undefined, field: string, fallback?: number, max = 2 ** 31 - 1): number {
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new ApiError(400, `${field}: required`);
  }
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1 || number > max) {
    throw new ApiError(400, `${field}: expected a whole number from 1 to ${max}, got '${value.slice(0, 40)}'`);
  }
  return number;
}

/**
 * Drone reads `branch`, `commit` and `target` with Go's `FormValue`: from the query string or
 * from a form body, which is how drone-node sends them. Both count here; the query wins.
 */
export function requestFields(query: Record<string, string>, contentType: string | undefined, text: string): Record<string, string> {
  if (!isFormBody(contentType)) return query;
  return { ...Object.fromEntries(new URLSearchParams(text)), ...query };
}

export const isFormBody = (contentType: string | undefined) => /^application\/x-www-form-urlencoded\b/i.test(contentType ?? '');

const PARAM_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Build parameters: every field not in `reserved` (Drone: query keys other than
 * `branch`/`commit`; `target` for a promotion). They become the steps' environment
 * variables, so a key must be a variable name.
 */
export function buildParams(fields: Record<string, string>, reserved: ReadonlySet<string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (reserved.has(key)) continue;
    if (!PARAM_KEY.test(key)) {
      throw new ApiError(400, `parameter '${key.slice(0, 60)}': a build parameter becomes an environment variable, so its name must be letters, digits and '_' (like DEPLOY_ENV)`);
    }
    if (value.length > 4096) throw new ApiError(400, `parameter ${key}: at most 4096 characters, got ${value.length}`);
    params[key] = value;
  }
  if (Object.keys(params).length > 64) throw new ApiError(400, `at most 64 build parameters, got ${Object.keys(params).length}`);
  return params;
}
