import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PlanStep } from '../../src/pipeline/plan.ts';
import { adminHeaders, startApiApp, type ApiApp } from '../support/api-server.ts';

// Issue 9 item 1 on the server: a repo's `registry` setting reaches the plan a build of its
// caicloud.yml gets, so the image build step pushes `<registry>/<owner>/<name>` (the push
// itself, to a real registry, is shown by test/runner/caicloud-build.e2e.test.ts).
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
