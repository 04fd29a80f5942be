import { createHash, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { tokenIdOf, tokenMatches } from '../access/api-token.ts';
import type { Executor } from '../events/database.ts';
import { users, userTokens } from '../projections/tables.ts';

/**
 * Who made a request: a server admin (the admin token, or a user with `admin`), a user, or
 * nobody. `kind: 'admin'` may do anything anywhere; a user's repo access comes from the
 * permissions an admin granted (access.ts).
 */
export type Caller = { kind: 'admin'; login: string } | { kind: 'user'; login: string } | { kind: 'anonymous' };

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Reads `Authorization: Bearer <token>` (or `?access_token=`, as Drone accepts) and sets
 * `caller`. The admin token is compared by its sha256 in constant time, so neither its
 * length nor a prefix leaks through timing; a user token is found by the id it carries and
 * its digest compared the same way. A wrong token is a 401 at once; a missing one leaves
 * the caller anonymous and each route decides. A deactivated user's token is a wrong token.
 */
export function authenticate(adminToken: string, database: Executor): MiddlewareHandler<{ Variables: { caller: Caller } }> {
  const expected = digest(adminToken);
  return async (c, next) => {
    const header = c.req.header('authorization');
    const token = header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() ?? c.req.query('access_token');
    if (token === undefined || token === '') {
      c.set('caller', { kind: 'anonymous' });
    } else if (timingSafeEqual(digest(token), expected)) {
      c.set('caller', { kind: 'admin', login: 'admin' });
    } else {
      const user = await userForToken(database, token);
      if (!user) return c.json({ message: 'invalid token: it is unknown or was revoked; ask an admin for a new one (POST /api/users/{login}/token)' }, 401);
      c.set('caller', user.admin ? { kind: 'admin', login: user.login } : { kind: 'user', login: user.login });
    }
    await next();
  };
}

async function userForToken(database: Executor, token: string): Promise<{ login: string; admin: boolean } | undefined> {
  const tokenId = tokenIdOf(token);
  if (!tokenId) return undefined;
  const [row] = await database.db
    .select({ sha256: userTokens.sha256, login: users.login, admin: users.admin, active: users.active })
    .from(userTokens)
    .innerJoin(users, eq(users.login, userTokens.login))
    .where(eq(userTokens.tokenId, tokenId))
    .limit(1);
  if (!row || !row.active || !tokenMatches(token, row.sha256)) return undefined;
  return { login: row.login, admin: row.admin };
}
