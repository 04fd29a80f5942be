import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConfigRequest } from '../../src/forge/config-source.ts';
import type { PlanStep } from '../../src/pipeline/plan.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

// Issue 9 item 1 on the server: a repo's `registry` setting reaches the plan a build of its
// caicloud.yml gets, so the image build step pushes `<registry>/<owner>/<name>` (the push
// itself, to a real registry, is shown by test/runner/caicloud-build.e2e.test.ts); and its
// `config_path` names the caicloud.yml a build without a config text reads from the forge.
const TOKEN = 'repo-registry-token';
const headers = adminHeaders(TOKEN);
const CAICLOUD = `build:
  context_dir: .
  dockerfile_name: Dockerfile
`;

describe('the repo registry setting, through the API to the build plan (PGlite)', () => {
  let api: ApiApp;

  before(async () => {
    api = await startApiApp({ adminToken: TOKEN });
  });
  after(() => api.close());

  const request = async (method: string, path: string, body?: unknown) => {
    const response = await api.app.request(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, json: await response.json() };
  };
  /** The image build step of a new build's plan, as its BuildCreated event recorded it. */
  const imageStep = async () => {
    const created = await request('POST', '/api/repos/acme/web/builds?branch=main', { config: CAICLOUD });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const events = await request('GET', `/api/repos/acme/web/builds/${created.json.number}/events`);
    const list = (Array.isArray(events.json) ? events.json : events.json.events) as Array<{ type: string; data: { plan?: { stages: Array<{ steps: PlanStep[] }> } } }>;
    const plan = list.find((event) => event.type === 'BuildCreated')!.data.plan;
    assert.ok(plan, JSON.stringify(list[0]));
    return plan.stages.flatMap((stage) => stage.steps).find((step) => step.build)!.build!;
  };

  test('given a repo with a registry, when its caicloud.yml builds, then the plan pushes to <registry>/<owner>/<name>', async () => {
    assert.equal((await request('POST', '/api/repos/acme/web', { config_path: 'caicloud.yml', registry: 'registry.example:5000' })).status, 200);
    assert.equal((await request('GET', '/api/repos/acme/web')).json.registry, 'registry.example:5000');
    const build = await imageStep();
    assert.equal(build.repo, 'registry.example:5000/acme/web');
    assert.equal(build.push, true);
  });

  test('given the registry removed, then the image is built and not pushed', async () => {
    const patched = await request('PATCH', '/api/repos/acme/web', { registry: '' });
    assert.equal(patched.json.registry, '');
    const build = await imageStep();
    assert.equal(build.repo, 'acme/web');
    assert.equal(build.push, false);
  });

  test('given a registry that is not host[:port], then 400 naming registry', async () => {
    const answer = await request('PATCH', '/api/repos/acme/web', { registry: 'https://registry.example/' });
    assert.equal(answer.status, 400);
    assert.match(answer.json.message, /registry/);
  });
});

describe("a repo's config_path names its caicloud.yml, read from the forge (PGlite)", () => {
  const SHA = 'c'.repeat(40);
  const asked: ConfigRequest[] = [];
  let api: ApiApp;

  before(async () => {
    // The forge's side: serves the caicloud.yml at that one path, nothing else.
    api = await startApiApp({
      adminToken: TOKEN,
      configSource: async (request) => {
        asked.push(request);
        return request.path === 'ci/app.caicloud.yml' ? { ok: true, text: CAICLOUD, commit: request.commit } : { ok: false, message: `${request.path}: not found` };
      },
    });
  });
  after(() => api.close());

  test('given config_path ci/app.caicloud.yml, when a build starts without a config, then that file is read and compiled as caicloud', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await api.app.request(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: response.status, json: await response.json() };
    };
    const activated = await call('POST', '/api/repos/acme/app', { clone_url: 'https://git.example.test/acme/app.git', config_path: 'ci/app.caicloud.yml', registry: 'registry.example:5000' });
    assert.equal(activated.status, 200, JSON.stringify(activated.json));
    const created = await call('POST', `/api/repos/acme/app/builds?branch=main&commit=${SHA}`);
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.deepEqual(asked.map((request) => [request.path, request.commit]), [['ci/app.caicloud.yml', SHA]]);
    const events = await call('GET', `/api/repos/acme/app/builds/${created.json.number}/events`);
    const list = (Array.isArray(events.json) ? events.json : events.json.events) as Array<{ type: string; data: { config?: { path: string }; error?: string; plan?: { stages: Array<{ name: string; steps: PlanStep[] }> } } }>;
    const data = list.find((event) => event.type === 'BuildCreated')!.data;
    assert.equal(data.config?.path, 'ci/app.caicloud.yml');
    assert.equal(data.error, undefined);
    assert.deepEqual(data.plan?.stages.map((stage) => stage.name), ['caicloud']);
    assert.equal(data.plan?.stages[0]!.steps.find((step) => step.build)?.build?.repo, 'registry.example:5000/acme/app');
  });
});
