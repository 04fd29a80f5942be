import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A user's API token: `rl_<id>_<secret>`. The id is public (events and the API name a token
 * by it) and lets authentication find the one stored digest to compare with; the secret
 * part is 32 random bytes. Only the sha256 of the whole token is ever stored.
 */
export type IssuedToken = { token: string; tokenId: string; sha256: string };

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

export function issueToken(): IssuedToken {
  const tokenId = randomBytes(6).toString('hex');
  const token = `rl_${tokenId}_${randomBytes(32).toString('base64url')}`;
  return { token, tokenId, sha256: sha256Hex(token) };
}

/** The id inside a user token; undefined for anything else (the admin token, garbage). */
export function tokenIdOf(token: string): string | undefined {
  return token.match(/^rl_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/)?.[1];
}

/** Compares a presented token with a stored digest in constant time. */
export function tokenMatches(token: string, storedSha256: string): boolean {
  const stored = Buffer.from(storedSha256, 'hex');
  const presented = createHash('sha256').update(token).digest();
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}
