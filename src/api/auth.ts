import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/** Who made a request: the admin (a valid token) or nobody. Users and their tokens arrive with the full API. */
export type Caller = { kind: 'admin'; login: string } | { kind: 'anonymous' };

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Reads `Authorization: Bearer <token>` (or `?access_token=`, as Drone accepts) and sets
 * `caller`. Tokens are compared by their sha256 in constant time, so neither the length
 * nor a prefix of the admin token leaks through timing. A wrong token is a 401 at once;
 * a missing one leaves the caller anonymous and each route decides.
 */
export function authenticate(adminToken: string): MiddlewareHandler<{ Variables: { caller: Caller } }> {
  const expected = digest(adminToken);
  return async (c, next) => {
    const header = c.req.header('authorization');
    const token = header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() ?? c.req.query('access_token');
    if (token === undefined || token === '') {
      c.set('caller', { kind: 'anonymous' });
    } else if (timingSafeEqual(digest(token), expected)) {
      c.set('caller', { kind: 'admin', login: 'admin' });
    } else {
      return c.json({ message: 'invalid token: check RUNLOG_ADMIN_TOKEN or the token runlog serve printed' }, 401);
    }
    await next();
  };
}
