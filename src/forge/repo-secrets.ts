import { createHash, randomBytes } from 'node:crypto';
import { sealedSettingContext, type SealedSetting } from '../events/repo-events.ts';
import { seal, unseal, type SecretKey } from '../secrets/sealed-value.ts';
import type { ForgeAccess } from './forge-api.ts';

/**
 * A repo's secret settings — the webhook secret, the forge API token and the notification
 * webhook's secret — are stored sealed under the repo's id and the field's name; these are
 * the only ways in and out.
 */
type SecretField = SealedSetting;

/** 32 random bytes, base64url: what the forge's webhook form takes as its secret. */
export const newWebhookSecret = () => randomBytes(32).toString('base64url');

export const sealRepoSecret = (key: SecretKey, repoId: string) => (field: SecretField, value: string) =>
  seal(key, value, sealedSettingContext(repoId, field));

/** Thrown when a repo secret does not open (another RUNLOG_SECRET_KEY, or edited). */
export class RepoSecretError extends Error {
  override readonly name = 'RepoSecretError';
}

/**
 * The key repo secrets are sealed with (`bytes`), and an older one they may still be sealed
 * with (`legacy`), tried second when opening. Both seal the same `v1.` AES-256-GCM text, so a
 * stored value does not say which key made it; trying the second costs one failed GCM tag
 * check, and the hook intake caches what it opened.
 */
export type RepoSecretKey = SecretKey & { readonly legacy?: SecretKey };

/**
 * RUNLOG_SECRET_KEY when the server has one — the key pipeline secrets use — else one derived
 * from the admin token. `runlog serve` always has one (it generates <data>/secret.key);
 * `runlog server` without RUNLOG_SECRET_KEY runs with pipeline secrets off, but a repo still
 * needs its webhook secret to take hooks, so that is sealed with the derived key (it changes
 * with RUNLOG_ADMIN_TOKEN). Values sealed that way keep opening after RUNLOG_SECRET_KEY is set
 * (the derived key stays as `legacy`); each is sealed with RUNLOG_SECRET_KEY at its next change
 * (PATCH, or repair for the webhook secret).
 */
export function repoSecretKey(secretKey: SecretKey | undefined, adminToken: string): RepoSecretKey {
  const derived = derivedRepoSecretKey(adminToken);
  return secretKey ? { bytes: secretKey.bytes, legacy: derived } : derived;
}

/** The clear value, or '' when none is set. Throws RepoSecretError when it opens with neither key. */
export function openRepoSecret(key: RepoSecretKey, repoId: string, field: SecretField, sealed: string): string {
  if (sealed === '') return '';
  const context = sealedSettingContext(repoId, field);
  const clear = unseal(key, sealed, context) ?? (key.legacy ? unseal(key.legacy, sealed, context) : undefined);
  if (clear === undefined) throw new RepoSecretError(`the ${FIELD_NAMES[field] ?? field} of this repository does not open with this server's key (was RUNLOG_SECRET_KEY or, without it, RUNLOG_ADMIN_TOKEN changed?)`);
  return clear;
}

/** As the API names them. */
const FIELD_NAMES: Partial<Record<SecretField, string>> = { forgeToken: 'forge_token', webhookSecret: 'webhook_secret', notifyWebhookSecret: 'notify_webhook_secret' };

/** The key of a server without RUNLOG_SECRET_KEY: only the admin token is secret and stable there. */
const derivedRepoSecretKey = (adminToken: string): SecretKey => ({ bytes: createHash('sha256').update(`runlog repo secret key\0${adminToken}`).digest() });

/** How to reach a repo's forge, its token opened (in memory only, for the call). */
export function forgeAccessOf(
  key: RepoSecretKey,
  repo: { id: string; slug: string; forge: string; forgeUrl: string; forgeToken: string; cloneUrl: string },
): ForgeAccess {
  const forge = (['github', 'gitea', 'gitlab'] as const).find((kind) => kind === repo.forge) ?? 'git';
  return { forge, apiUrl: repo.forgeUrl, token: openRepoSecret(key, repo.id, 'forgeToken', repo.forgeToken), slug: repo.slug, cloneUrl: repo.cloneUrl };
}
