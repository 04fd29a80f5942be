import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for values at rest: `v1.<iv>.<ciphertext+tag>`, base64url, a fresh 96-bit IV
 * per seal. `context` (additional data) binds a sealed value to where it belongs — a
 * secret's repo and name — so a ciphertext copied onto another secret does not open.
 */
export type SecretKey = { readonly bytes: Buffer };

export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
}

/**
 * RUNLOG_SECRET_KEY: 32 bytes, written as 64 hexadecimal characters or as base64 (44
 * characters with padding). `openssl rand -hex 32` makes one.
 */
export function parseSecretKey(text: string): SecretKey {
  const trimmed = text.trim();
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) bytes = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) bytes = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
  if (!bytes || bytes.length !== 32) {
    throw new SecretKeyError(`RUNLOG_SECRET_KEY must be 32 bytes as 64 hex characters or base64 (openssl rand -hex 32), got ${trimmed.length} characters`);
  }
  return { bytes };
}

export const newSecretKeyText = () => randomBytes(32).toString('hex');

export function seal(key: SecretKey, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `v1.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** The value, or undefined when the key, the context or the text is not the one it was sealed with. */
export function unseal(key: SecretKey, sealed: string, context: string): string | undefined {
  const [version, ivText, bodyText] = sealed.split('.');
  if (version !== 'v1' || !ivText || !bodyText) return undefined;
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (iv.length !== 12 || body.length < 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, iv);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** What a secret's sealed value is bound to. */
export const secretContext = (repoId: string, name: string) => `runlog-secret:${repoId}:${name}`;
