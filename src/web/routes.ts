import type { Hono } from 'hono';
import { bundleCache, type WebBundle } from './bundle.ts';

/**
 * The web page at Drone's UI paths (`/`, `/{owner}/{name}`, `/{owner}/{name}/{number}`,
 * `/{owner}/{name}/{number}/{stage}/{step}`, plus `/queue` and `/login`), so links people
 * already share keep working. Every one answers the same HTML shell; the page routes itself.
 * First path segments the server uses for other things are left alone, so an unknown API
 * path stays a JSON 404.
 */
const RESERVED = new Set(['api', 'rpc', 'hook', 'healthz', 'metrics', 'docs', 'openapi.json', 'assets', 'favicon.ico']);

export function registerWebRoutes(app: Hono<any>, options: { bundle?: () => Promise<WebBundle>; log?: (message: string) => void } = {}): void {
  const bundle = options.bundle ?? bundleCache();
  const immutable = 'public, max-age=31536000, immutable';

  app.get('/assets/:file', async (c, next) => {
    const [, hash, kind] = /^app\.([0-9a-f]{16})\.(js|css)$/.exec(c.req.param('file')) ?? [];
    if (!kind) return next();
    const built = await bundle();
    // Only the current bundle's name is served: an old name cached as immutable must not get new content.
    if (hash !== built.hash) return next();
    return kind === 'js'
      ? c.body(built.js, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': immutable })
      : c.body(built.css, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': immutable });
  });

  app.get('*', async (c, next) => {
    const first = c.req.path.split('/')[1] ?? '';
    const segments = c.req.path.split('/').filter(Boolean).length;
    if (RESERVED.has(first) || segments > 5) return next();
    let built: WebBundle;
    try {
      built = await bundle();
    } catch (error) {
      options.log?.(`runlog: the web page could not be bundled: ${error instanceof Error ? error.message : String(error)}`);
      return c.json({ message: 'the web page could not be built on this server (is esbuild installed? run npm install); the API under /api works' }, 503);
    }
    return c.html(shell(built.hash), 200, { 'cache-control': 'no-cache' });
  });
}

const shell = (hash: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>runlog</title>
<link rel="stylesheet" href="/assets/app.${hash}.css">
<script type="module" src="/assets/app.${hash}.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
