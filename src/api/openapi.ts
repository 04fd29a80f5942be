// The OpenAPI 3.1 document, generated: every route the app has (Hono's `app.routes`) is in
// it, so nothing can be left out; what a route says about itself — summary, body schema
// (zod, converted with `z.toJSONSchema`), query parameters — is registered next to it with
// one `describeRoute` call. `/docs` renders the document as a self-contained page (no CDN).
import { z } from 'zod';
import type { Hono } from 'hono';
import { BuildBody, RepoBody } from './bodies.ts';

export type RouteDoc = {
  summary: string;
  body?: z.ZodType;
  query?: Record<string, string>;
  /** The content type of a 2xx answer; default application/json. */
  produces?: string;
  tag?: string;
};

const docs = new Map<string, RouteDoc>();

/** Documents `METHOD path` (Hono's path syntax, e.g. `/api/repos/:owner/:name`). Call it beside the route. */
export function describeRoute(method: string, path: string, doc: RouteDoc): void {
  docs.set(`${method.toUpperCase()} ${path}`, doc);
}

// The routes that predate this module, described here once; new routes describe themselves.
describeRoute('GET', '/healthz', { summary: 'Liveness: the database answers', tag: 'operations' });
describeRoute('GET', '/metrics', { summary: 'Prometheus metrics (admin token)', produces: 'text/plain', tag: 'operations' });
describeRoute('GET', '/openapi.json', { summary: 'This document', tag: 'operations' });
describeRoute('GET', '/docs', { summary: 'This document as a web page', produces: 'text/html', tag: 'operations' });
describeRoute('GET', '/api/user/repos', { summary: 'Repositories the caller may read', tag: 'repos' });
describeRoute('POST', '/api/repos/:owner/:name', { summary: 'Activate a repository', body: RepoBody, tag: 'repos' });
describeRoute('GET', '/api/repos/:owner/:name', { summary: 'A repository', tag: 'repos' });
describeRoute('PATCH', '/api/repos/:owner/:name', { summary: 'Change repository settings', body: RepoBody, tag: 'repos' });
describeRoute('DELETE', '/api/repos/:owner/:name', { summary: 'Deactivate a repository (history is kept)', tag: 'repos' });
describeRoute('GET', '/api/repos/:owner/:name/builds', { summary: 'Builds, newest first', query: { page: 'page number', per_page: 'up to 100', branch: 'only this branch' }, tag: 'builds' });
describeRoute('POST', '/api/repos/:owner/:name/builds', { summary: 'Create a build (config read at the commit; a body `config` overrides it)', body: BuildBody, query: { branch: 'branch to build (default: the repo default branch)', commit: 'commit sha (default: the branch head)' }, tag: 'builds' });
describeRoute('GET', '/api/repos/:owner/:name/builds/:number', { summary: 'A build with its stages and steps (`?at=` as it stood then)', query: { at: 'a global position or a time' }, tag: 'builds' });
describeRoute('DELETE', '/api/repos/:owner/:name/builds/:number', { summary: 'Cancel a build', tag: 'builds' });
describeRoute('GET', '/api/repos/:owner/:name/builds/:number/events', { summary: "A build's events", query: { after: 'global position', limit: 'events per page', format: 'json or ndjson' }, tag: 'history' });
describeRoute('GET', '/api/repos/:owner/:name/builds/:number/logs/:stage/:step', { summary: "A step's log lines", tag: 'builds' });
describeRoute('GET', '/api/stream', { summary: 'Live build feed (Server-Sent Events)', produces: 'text/event-stream', tag: 'streams' });
describeRoute('GET', '/api/stream/:owner/:name/:number/:stage/:step', { summary: 'Live step log (Server-Sent Events)', produces: 'text/event-stream', tag: 'streams' });
describeRoute('GET', '/api/badges/:owner/:name/status.svg', { summary: 'Status badge', query: { branch: 'branch', ref: 'full ref' }, produces: 'image/svg+xml', tag: 'badges' });
describeRoute('GET', '/api/badges/:owner/:name/cc.xml', { summary: 'CCTray feed', query: { branch: 'branch', ref: 'full ref' }, produces: 'application/xml', tag: 'badges' });

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');

/** The document for every route of `app` (middleware and mounted sub-apps' `*` entries aside). */
export function openApiDocument(app: Hono<any>, info: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = {};
  const named = new Map<z.ZodType, string>([
    [RepoBody, 'RepoBody'],
    [BuildBody, 'BuildBody'],
  ]);
  for (const route of app.routes) {
    if (route.method === 'ALL' || route.path.includes('*')) continue;
    const path = toOpenApiPath(route.path);
    const method = route.method.toLowerCase();
    if (paths[path]?.[method]) continue;
    const doc = docs.get(`${route.method} ${route.path}`);
    const parameters = [
      ...[...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => ({ name: match[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(doc?.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } })),
    ];
    let requestBody: unknown;
    if (doc?.body) {
      const name = named.get(doc.body) ?? `${route.method}${path.replace(/[^A-Za-z0-9]+/g, '_')}Body`;
      schemas[name] ??= z.toJSONSchema(doc.body, { target: 'draft-2020-12', io: 'input' });
      requestBody = { required: false, content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } };
    }
    paths[path] ??= {};
    paths[path][method] = {
      summary: doc?.summary ?? `${route.method} ${path}`,
      ...(doc?.tag ? { tags: [doc.tag] } : {}),
      operationId: `${method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: {
        '200': { description: 'OK', content: { [doc?.produces ?? 'application/json']: {} } },
        '4XX': { description: 'Refused: what is wrong, in words', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  schemas.Error = { type: 'object', required: ['message'], properties: { message: { type: 'string' }, code: { type: 'string' } } };
  return {
    openapi: '3.1.0',
    info: { title: 'runlog', version: info.version, description: 'Drone-compatible CI/CD server; every build transition an event.' },
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }, {}],
    paths,
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The document as one HTML page with inline CSS: works offline. */
export function docsPage(document: ReturnType<typeof openApiDocument>): string {
  const rows = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const op = operation as { summary: string; parameters?: { name: string; in: string; description?: string }[]; requestBody?: { content: Record<string, { schema: { $ref: string } }> } };
      const params = (op.parameters ?? []).map((p) => `<code>${escapeHtml(p.name)}</code> (${p.in}${p.description ? `: ${escapeHtml(p.description)}` : ''})`).join(', ');
      const body = op.requestBody ? Object.values(op.requestBody.content)[0]!.schema.$ref.split('/').pop()! : '';
      return `<tr><td class="m ${method}">${method.toUpperCase()}</td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary)}${params ? `<br><small>${params}</small>` : ''}${body ? `<br><small>body: <a href="#${body}">${body}</a></small>` : ''}</td></tr>`;
    }),
  );
  const schemas = Object.entries(document.components.schemas)
    .map(([name, schema]) => `<h3 id="${escapeHtml(name)}">${escapeHtml(name)}</h3><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre>`)
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>runlog API ${escapeHtml(document.info.version)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;width:100%}td{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top}
.m{font-weight:bold;font-family:monospace}.get{color:#2a7}.post{color:#27a}.patch{color:#a72}.delete{color:#c33}.put{color:#a2a}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head>
<body><h1>runlog API</h1><p>${escapeHtml(document.info.description)} Version ${escapeHtml(document.info.version)}. Machine-readable: <a href="/openapi.json">/openapi.json</a>. Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>; every refusal is JSON <code>{"message": ...}</code>.</p>
<table>${rows.join('\n')}</table><h2>Schemas</h2>${schemas}</body></html>`;
}

export function registerOpenApiRoutes(app: Hono<any>, version = '0.1.0'): void {
  let cached: ReturnType<typeof openApiDocument> | undefined;
  // Built on first request, when every route (this one's included) is registered.
  const document = () => (cached ??= openApiDocument(app, { version }));
  app.get('/openapi.json', (c) => c.json(document()));
  app.get('/docs', (c) => c.html(docsPage(document())));
}
