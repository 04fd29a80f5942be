import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body, keyed with RUNLOG_WEBHOOK_SECRET>`. */
export const SIGNATURE_HEADER = 'X-Runlog-Signature';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: recompute over the raw body and compare in constant time. */
export function verifyBody(secret: string, body: string, header: string | null | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const got = Buffer.from(header);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
