import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderPlanTree } from '../../src/cli/plan-tree.ts';
import { compile } from '../../src/pipeline/compile.ts';
import { buildContext } from '../pipeline/build-context.ts';

function tree(text: string): string {
  const { plan, diagnostics } = compile(text, buildContext());
  assert.ok(plan, JSON.stringify(diagnostics));
  return renderPlanTree(plan);
}

describe('plan tree', () => {
  test('services, detached steps, policies, retries and stage details', () => {
    const text = [
      'kind: pipeline',
      'name: ci',
      'node: {pool: fast}',
      'concurrency: {limit: 2}',
      'clone: {depth: 10}',
      'volumes: [{name: cache, temp: {}}]',
      'services: [{name: db, image: postgres}]',
      'steps:',
      '- {name: build, image: golang, retry: {limit: 2, exit_codes: [137]}, environment: {T: {from_secret: token}}}',
      '- {name: server, image: golang, detach: true}',
      '- {name: lint, image: golangci/golangci-lint, failure: ignore}',
      '- {name: notify, image: plugins/slack, when: {status: [failure]}}',
      '- {name: cleanup, image: alpine, when: {status: [success, failure]}}',
      '',
    ].join('\n');
    assert.equal(
      tree(text),
      [
        'stage 1: ci  (docker, linux/amd64)',
        '│ node: pool=fast',
        '│ concurrency: 2',
        '│ clone: depth 10',
        '│ volumes: cache (temp)',
        '│ secrets: token',
        '├─ 1 clone',
        '├─ 2 db       service  postgres  after clone',
        '├─ 3 build    golang  after db  retry 2× on exit 137',
        '├─ 4 server   detached  golang  after build',
        '├─ 5 lint     golangci/golangci-lint  after server  failure ignored',
        '├─ 6 notify   plugins/slack  after lint  runs on failure',
        '└─ 7 cleanup  alpine  after notify  always runs',
        '',
      ].join('\n'),
    );
  });

  test('a stage without steps', () => {
    assert.equal(tree('kind: pipeline\nname: empty\nclone: {disable: true}\n'), 'stage 1: empty  (docker, linux/amd64)\n│ clone: disabled\n└─ (no steps)\n');
  });
});
