import { and, desc, eq } from 'drizzle-orm';
import { builds } from '../projections/tables.ts';
import type { App, AppDeps } from './app.ts';
import { ccXml, badgeWord, statusSvg } from './badges.ts';
import { slugParts } from './bodies.ts';
import { ApiError, notFound } from './errors.ts';
import { findRepo } from './read-views.ts';

// Badges are fetched by image proxies (GitHub's camo) that cache what they may: say "do not".
const NO_CACHE = {
  'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate',
  Expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
  'Access-Control-Allow-Origin': '*',
};

/**
 * Drone's badge paths. The build is the newest for `?ref=` (a full ref), or `?branch=`, else
 * the repo's default branch. Like Drone, an unknown repo or a repo without builds is the
 * "none" badge rather than an error (a README keeps its image); unlike Drone, a private repo's
 * badge needs a token (`?access_token=`) and is "none" without one, so it leaks nothing.
 */
export function registerBadgeRoutes(app: App, deps: AppDeps) {
  async function latest(owner: string, name: string, query: { ref?: string; branch?: string }, caller: { kind: string }) {
    slugParts(owner, name);
    const ref = query.ref || `refs/heads/${query.branch || ''}`;
    if (ref.length > 255) throw new ApiError(400, 'ref: longer than 255 characters');
    const repo = await findRepo(deps.database, owner, name);
    if (!repo || !repo.active || (repo.visibility !== 'public' && caller.kind !== 'admin')) return { repo: undefined, build: undefined };
    const wanted = query.ref || query.branch ? ref : `refs/heads/${repo.defaultBranch}`;
    const [build] = await deps.database.db
      .select({ number: builds.number, status: builds.status, started: builds.started, created: builds.created })
      .from(builds)
      .where(and(eq(builds.repoId, repo.id), eq(builds.ref, wanted)))
      .orderBy(desc(builds.number))
      .limit(1);
    return { repo, build };
  }

  app.get('/api/badges/:owner/:name/status.svg', async (c) => {
    const { build } = await latest(c.req.param('owner'), c.req.param('name'), c.req.query(), c.get('caller'));
    return c.body(statusSvg(badgeWord(build?.status)), 200, { ...NO_CACHE, 'Content-Type': 'image/svg+xml' });
  });

  app.get('/api/badges/:owner/:name/cc.xml', async (c) => {
    const { repo, build } = await latest(c.req.param('owner'), c.req.param('name'), c.req.query(), c.get('caller'));
    if (!repo) throw notFound(`repository ${c.req.param('owner')}/${c.req.param('name')}`);
    const unix = (date: Date | null) => (date ? Math.floor(date.getTime() / 1000) : 0);
    const body = ccXml(
      { slug: repo.slug, webUrl: `${deps.system.proto}://${deps.system.host}/${repo.slug}${build ? `/${build.number}` : ''}` },
      build && { number: build.number, status: build.status, started: unix(build.started), created: unix(build.created) },
    );
    return c.body(body, 200, { ...NO_CACHE, 'Content-Type': 'application/xml; charset=utf-8' });
  });
}
