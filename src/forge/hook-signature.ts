import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Forge } from './hook-trigger.ts';

/**
 * Which forge sent a webhook and the proof it carries, from the request's headers.
 * Gitea also sends GitHub's and Gogs' headers for compatibility, so it is recognised first.
 * - GitHub: `X-GitHub-Event`, `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
 * - Gitea: `X-Gitea-Event`, `X-Gitea-Signature: <hex HMAC-SHA256 of the body>`
 * - GitLab: `X-Gitlab-Event`, `X-Gitlab-Token: <the secret itself>`
 */
export type HookHeaders = { forge: Forge; event: string; signature: string | undefined };

export function hookHeaders(header: (name: string) => string | undefined): HookHeaders | undefined {
  const gitea = header('x-gitea-event');
  if (gitea) return { forge: 'gitea', event: gitea, signature: header('x-gitea-signature') };
  const gitlab = header('x-gitlab-event');
  if (gitlab) return { forge: 'gitlab', event: gitlab, signature: header('x-gitlab-token') };
  const github = header('x-github-event');
  if (github) return { forge: 'github', event: github, signature: header('x-hub-signature-256') };
  return undefined;
}

/** Whether `signature` proves `body` came from someone holding `secret`; constant time in the secret. */
export function signatureMatches(forge: Forge, body: Uint8Array, signature: string, secret: string): boolean {
  if (secret === '') return false;
  if (forge === 'gitlab') {
    // The token is the secret itself: compare digests, so neither its length nor a prefix leaks.
    return timingSafeEqual(sha256(signature), sha256(secret));
  }
  const hex = forge === 'github' ? signature.match(/^sha256=([0-9a-fA-F]{64})$/)?.[1] : signature.match(/^([0-9a-fA-F]{64})$/)?.[1];
  if (!hex) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
}

/** The header a forge signs with, for messages. */
export const signatureHeader = (forge: Forge) =>
  forge === 'github' ? 'X-Hub-Signature-256' : forge === 'gitea' ? 'X-Gitea-Signature' : 'X-Gitlab-Token';

/** What a forge would send: for tests and for `runlog` users checking their setup. */
export function signBody(forge: Forge, body: Uint8Array | string, secret: string): string {
  if (forge === 'gitlab') return secret;
  const hex = createHmac('sha256', secret).update(body).digest('hex');
  return forge === 'github' ? `sha256=${hex}` : hex;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
