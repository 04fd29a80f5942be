import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubernetesDeploy } from '../../src/pipeline/plan.ts';
import { rollout, runDeployStep } from '../../src/runner/deploy/kubernetes-deploy.ts';

const target: KubernetesDeploy = { host: 'http://k8s.test', cluster: 'c', namespace: 'ns', deployment: 'web', containers: ['web'], image: 'r/a/b:1', timeoutSeconds: 1 };
const never = new AbortController().signal;

/** A fetch that answers from a list, then repeats the last answer. */
function answers(...replies: [number, unknown][]): typeof fetch {
  let i = 0;
  return (async () => {
    const [status, body] = replies[Math.min(i++, replies.length - 1)];
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
}

const deployment = (generation: number, observed: number, updated: number, available = updated) => ({
  metadata: { generation },
  spec: { replicas: 2 },
  status: { observedGeneration: observed, replicas: 2, updatedReplicas: updated, availableReplicas: available },
});

describe('rollout status, as kubectl reads it', () => {
  test('waits for the new generation, every replica updated, no old one left, every updated one available', () => {
    assert.equal(rollout(deployment(3, 2, 2)).done, false);
    assert.equal(rollout(deployment(3, 3, 1)).done, false);
    assert.equal(rollout({ ...deployment(3, 3, 2), status: { observedGeneration: 3, replicas: 3, updatedReplicas: 2, availableReplicas: 2 } }).done, false);
    assert.equal(rollout(deployment(3, 3, 2, 1)).done, false);
    assert.equal(rollout(deployment(3, 3, 2)).done, true);
    const stuck = rollout({ ...deployment(3, 3, 1), status: { ...deployment(3, 3, 1).status, conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded', message: 'too slow' }] } });
    assert.deepEqual([stuck.failed, stuck.message], [true, 'the rollout exceeded its progress deadline: too slow']);
  });
});

describe('a deploy step', () => {
  test('given no token, then it fails without calling the cluster', async () => {
    let called = false;
    const exit = await runDeployStep(target, {}, () => {}, never, { fetch: (async () => ((called = true), new Response('{}'))) as typeof fetch });
    assert.equal(exit.exitCode, 1);
    assert.equal(called, false);
    assert.match(exit.records?.[0]?.type === 'RecordDeployment' ? (exit.records[0].data.error ?? '') : '', /no token/);
  });

  test('given a missing deployment, then a failure that says not found', async () => {
    const exit = await runDeployStep(target, { KUBERNETES_TOKEN: 't' }, () => {}, never, { fetch: answers([404, { kind: 'Status', message: 'deployments.apps "web" not found' }]) });
    assert.equal(exit.exitCode, 1);
    const record = exit.records?.[0];
    assert.ok(record?.type === 'RecordDeployment');
    assert.equal(record.data.error, 'PATCH /apis/apps/v1/namespaces/ns/deployments/web: not found (404: deployments.apps "web" not found)');
  });

  test('given a rollout that never ends, then a failure after the timeout', async () => {
    const started = Date.now();
    const exit = await runDeployStep(target, { KUBERNETES_TOKEN: 't' }, () => {}, never, { fetch: answers([200, deployment(2, 2, 0)]), pollMs: 100 });
    assert.equal(exit.exitCode, 1);
    assert.ok(Date.now() - started < 3000);
    const record = exit.records?.[0];
    assert.ok(record?.type === 'RecordDeployment');
    assert.match(record.data.error ?? '', /did not finish in 1s/);
  });

  test('given a rollout that ends, then success with the generation, and the token in no output', async () => {
    let output = '';
    const exit = await runDeployStep(target, { KUBERNETES_TOKEN: 'sekrit' }, (chunk) => (output += new TextDecoder().decode(chunk)), never, {
      fetch: answers([200, deployment(5, 4, 0)], [200, deployment(5, 5, 2)]),
      pollMs: 10,
    });
    assert.equal(exit.exitCode, 0);
    assert.deepEqual(exit.records, [{ type: 'RecordDeployment', data: { cluster: 'c', namespace: 'ns', deployment: 'web', containers: ['web'], image: 'r/a/b:1', generation: 5 } }]);
    assert.equal(output.includes('sekrit'), false);
  });
});
