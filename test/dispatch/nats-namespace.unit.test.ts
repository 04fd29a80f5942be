import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { natsNamespace, natsNamespaceFromEnv } from '../../src/dispatch/nats-namespace.ts';

describe('natsNamespace', () => {
  it('keeps the names runlog always had by default', () => {
    assert.deepEqual(natsNamespaceFromEnv({}), { stream: 'RUNLOG_STAGES', stagesPrefix: 'runlog.stages', cancelPrefix: 'runlog.cancel' });
  });

  it('gives each namespace a stream and subjects of its own', () => {
    assert.deepEqual(natsNamespace('ci-east_2'), { stream: 'CI_EAST_2_STAGES', stagesPrefix: 'ci-east_2.stages', cancelPrefix: 'ci-east_2.cancel' });
  });

  it('refuses names that would be wildcards or several subject tokens', () => {
    for (const bad of ['a.b', 'a*', '>', 'has space', '', 'x'.repeat(65)]) {
      assert.throws(() => natsNamespace(bad), /RUNLOG_NATS_NAMESPACE must be/, bad);
    }
  });
});
