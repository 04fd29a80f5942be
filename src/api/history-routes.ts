// A build's own history over HTTP — what Drone cannot give: its events (paged, JSON or
// NDJSON) and the build as it stood at any moment (`?at=`). The one place the API folds a
// stream on a request path (DESIGN.md allows a single build's history): the build at a
// moment is computed from its events with the projections' own reducers, so it is exactly
// what `GET .../builds/{number}` answered at that moment.
import type { Context } from 'hono';
import { buildStreamId } from '../events/build-events.ts';
import { buildViewRows, droneBuildJson } from '../audit/build-views.ts';
import { comparePositions, fromStored, historyEventJson } from '../audit/history-event.ts';
import { describeMoment, eventsUpTo, MomentError, parseMoment } from '../audit/moment.ts';
import { ReplayError, snapshotAt } from '../audit/replay.ts';
import type { App, AppDeps, Env } from './app.ts';
import { requireRepo } from './access.ts';
import { positiveInt } from './bodies.ts';
import { ApiError, notFound } from './errors.ts';
import { findBuild } from './read-views.ts';

const MAX_LIMIT = 10_000;

export function registerHistoryRoutes(app: App, deps: AppDeps) {
  /** The build's stream, read with the caller's access checked. */
  async function history(c: Context<Env>) {
    const repo = await requireRepo(deps.database, c, 'read');
    const number = positiveInt(c.req.param('number'), 'number');
    const build = await findBuild(deps.database, repo.id, number);
    if (!build) throw notFound(`build ${repo.slug}#${number}`);
    const events = (await deps.store.readStream(buildStreamId(build.id))).map(fromStored);
    return { slug: repo.slug, number, events };
  }

  // `after`: a global position (the last one a client has); `limit`: most events per page.
  // The answer is a JSON array, or NDJSON for `?format=ndjson` or `Accept: application/x-ndjson`;
  // a full page says where the next starts in `X-Next-After` and a `Link: rel="next"`.
  app.get('/api/repos/:owner/:name/builds/:number/events', async (c) => {
    const after = c.req.query('after');
    if (after !== undefined && !/^[0-9]{1,19}$/.test(after)) {
      throw new ApiError(400, `after: expected a global position (decimal digits, from a previous page), got '${after.slice(0, 40)}'`);
    }
    const limit = positiveInt(c.req.query('limit'), 'limit', 1000, MAX_LIMIT);
    const format = c.req.query('format');
    if (format !== undefined && format !== 'json' && format !== 'ndjson') throw new ApiError(400, `format: expected json or ndjson, got '${format.slice(0, 40)}'`);
    const ndjson = format === 'ndjson' || (format === undefined && /application\/(x-)?ndjson/.test(c.req.header('accept') ?? ''));
    const { events } = await history(c);
    const page = events.filter((event) => after === undefined || comparePositions(event.position, after) > 0).slice(0, limit);
    if (page.length === limit) {
      const next = page[page.length - 1]!.position;
      const url = new URL(c.req.url);
      url.searchParams.set('after', next);
      c.header('X-Next-After', next);
      c.header('Link', `<${url.pathname}${url.search}>; rel="next"`);
    }
    const body = page.map(historyEventJson);
    if (!ndjson) return c.json(body);
    c.header('content-type', 'application/x-ndjson; charset=utf-8');
    return c.body(body.map((event) => `${JSON.stringify(event)}\n`).join(''));
  });

  // `?at=<position|time>`: the build as it stood then, in the same JSON as without it, plus
  // `replay` (who held each stage, its deadline and inactivity clock). Without `at` the
  // request goes on to the live view (build-routes.ts).
  app.get('/api/repos/:owner/:name/builds/:number', async (c, next) => {
    const at = c.req.query('at');
    if (at === undefined) return next();
    let moment;
    try {
      moment = parseMoment(at);
    } catch (error) {
      if (error instanceof MomentError) throw new ApiError(400, `at: ${error.message}`);
      throw error;
    }
    const { slug, number, events } = await history(c);
    const upTo = eventsUpTo(events, moment);
    try {
      const json = droneBuildJson(buildViewRows(upTo));
      if (!json) throw notFound(`build ${slug}#${number} at ${describeMoment(moment)} (it was created later)`);
      return c.json({ ...json, replay: snapshotAt(events, moment) });
    } catch (error) {
      // A stored event that no longer matches its schema: the history cannot be folded past it.
      if (error instanceof ReplayError) throw new ApiError(422, error.message, 'unreadable_history');
      throw error;
    }
  });
}
