import { createHash, randomBytes } from 'node:crypto';
import { sealedSettingContext } from '../events/repo-events.ts';
import { seal, unseal, type SecretKey } from '../secrets/sealed-value.ts';
import type { ForgeAccess } from './forge-api.ts';

/**
 * A repo's two secret settings — the webhook secret and the forge API token — are stored
 * sealed under the repo's id and the field's name; these are the only ways in and out.
 */
type SecretField = 'forgeToken' | 'webhookSecret';

/** 32 random bytes, base64url: what the forge's webhook form takes as its secret. */
export const newWebhookSecret = () => randomBytes(32).toString('base64url');

export const sealRepoSecret = (key: SecretKey, repoId: string) => (field: SecretField, value: string) =>
  seal(key, value, sealedSettingContext(repoId, field));

/** Thrown when a repo secret does not open (another RUNLOG_SECRET_KEY, or edited). */
export class RepoSecretError extends Error {
  override readonly name = 'RepoSecretError';
}

/** The clear value, or '' when none is set. Throws RepoSecretError when it does not open. */
export function openRepoSecret(key: SecretKey, repoId: string, field: SecretField, sealed: string): string {
  if (sealed === '') return '';
  const clear = unseal(key, sealed, sealedSettingContext(repoId, field));
  if (clear === undefined) throw new RepoSecretError(`the ${field} of this repository does not open with this key (was RUNLOG_SECRET_KEY changed? POST .../repair makes a new webhook secret)`);
  return clear;
}

/**
 * Without RUNLOG_SECRET_KEY, repo secrets are sealed with a key derived from the admin
 * token: `runlog serve` keeps that token in its data folder, so they open after a restart.
 * Setting RUNLOG_SECRET_KEY later makes them unreadable: repair and re-enter them.
 */
export const derivedRepoSecretKey = (adminToken: string): SecretKey => ({ bytes: createHash('sha256').update(`runlog repo secret key\0${adminToken}`).digest() });

/** How to reach a repo's forge, its token opened (in memory only, for the call). */
export function forgeAccessOf(
  key: SecretKey,
  repo: { id: string; slug: string; forge: string; forgeUrl: string; forgeToken: string; cloneUrl: string },
): ForgeAccess {
  const forge = (['github', 'gitea', 'gitlab'] as const).find((kind) => kind === repo.forge) ?? 'git';
  return { forge, apiUrl: repo.forgeUrl, token: openRepoSecret(key, repo.id, 'forgeToken', repo.forgeToken), slug: repo.slug, cloneUrl: repo.cloneUrl };
}
