// Per request: an id (`X-Request-Id` taken when it is sane, else generated, and echoed back),
// put into the metadata of every event the request appends (`requestId`, so `runlog events
// --json` ties an event to its access log line), one structured JSON access log line (pino)
// carrying it, and the counters /metrics reports
// as `runlog_http_requests_total{route,method,status}` — by route pattern, not raw path, so
// the series stay few.
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { withEventMetadata } from '../events/request-scope.ts';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export type HttpCounters = Map<string, number>;

export function requestLog(logger: Logger | undefined, counters: HttpCounters): MiddlewareHandler {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given !== undefined && SANE_ID.test(given) ? given : randomUUID();
    const log = logger?.child({ requestId });
    const started = performance.now();
    try {
      await withEventMetadata({ requestId }, next);
    } finally {
      c.header('X-Request-Id', requestId);
      // The handler that answered: the deepest route reached (a catch-all that passed the
      // request on, like the web page's, matches too but did not answer).
      const reached = c.req.matchedRoutes.slice(0, c.req.routeIndex + 1);
      const route = reached.findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched';
      const key = `${route}\u0000${c.req.method}\u0000${c.res.status}`;
      counters.set(key, (counters.get(key) ?? 0) + 1);
      log?.info({ method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(performance.now() - started) }, 'request');
    }
  };
}
