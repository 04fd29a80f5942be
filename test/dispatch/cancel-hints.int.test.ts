import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { publishCancelHint, subscribeCancelHints } from '../../src/dispatch/cancel-hints.ts';
import { natsNamespace } from '../../src/dispatch/nats-namespace.ts';
import { PlanStage } from '../../src/pipeline/plan.ts';
import { posixScript } from '../../src/pipeline/script.ts';
import { Trigger } from '../../src/pipeline/trigger.ts';
import { createExecEngine } from '../../src/runner/exec/engine.ts';
import { createLocalBuild } from '../../src/runner/reporter.ts';
import { runStage } from '../../src/runner/stage-runner.ts';

// Cancel hints on the shared nats-server, under a namespace of this run's own.
const { cancelPrefix } = natsNamespace(`cancel-hints-${randomBytes(4).toString('hex')}`);

function natsUrl(): string {
  const url = process.env.RUNLOG_TEST_NATS_URL;
  if (!url) throw new Error('RUNLOG_TEST_NATS_URL is not set: source .runlog-test/env');
  return url;
}

const sleeper = PlanStage.parse({
  number: 1,
  name: 'test',
  type: 'exec',
  platform: {},
  workspace: { path: '/drone/src' },
  clone: { disable: true },
  services: [],
  steps: [{ number: 1, kind: 'step', name: 'long', image: '', pull: 'never', script: posixScript(['echo started', 'sleep 60']) }],
});

describe('cancel hints over core NATS', () => {
  let publisher: NatsConnection;
  let subscriber: NatsConnection;
  before(async () => {
    [publisher, subscriber] = await Promise.all([connect({ servers: natsUrl() }), connect({ servers: natsUrl() })]);
  });
  after(async () => {
    await Promise.all([publisher?.close(), subscriber?.close()]);
  });

  test('given a subscriber, when a hint is published for a build, then it hears that build id, and nothing after close', async () => {
    const heard: string[] = [];
    const hints = subscribeCancelHints(subscriber, cancelPrefix, (buildId) => heard.push(buildId));
    await subscriber.flush();
    const buildId = crypto.randomUUID();
    publishCancelHint(publisher, cancelPrefix, buildId);
    publishCancelHint(publisher, `${cancelPrefix}-other`, crypto.randomUUID());
    for (const started = Date.now(); heard.length === 0 && Date.now() - started < 5000; ) await sleep(20);
    assert.deepEqual(heard, [buildId]);
    hints.close();
    await subscriber.flush();
    publishCancelHint(publisher, cancelPrefix, buildId);
    await sleep(200);
    assert.deepEqual(heard, [buildId]);
  });

  test('given a stage polling for a cancel only every minute, when a cancel is requested and hinted, then the stage stops within seconds', async () => {
    const engine = createExecEngine({ runner: 'runlog-test-cancel-hints' });
    let hintSent = 0;
    const { reporter, buildId, leaseToken } = await createLocalBuild({
      plan: { version: 1, stages: [sleeper], externalSecrets: [] },
      trigger: Trigger.parse({ event: 'push', ref: 'refs/heads/main', branch: 'main', commit: 'abc123' }),
      hooks: {
        onEvents: (events) => {
          if (hintSent || !events.some((e) => e.type === 'StepStarted')) return;
          hintSent = Date.now();
          // As the API does: append CancelRequested, then publish the hint.
          setTimeout(() => {
            void reporter.command({ type: 'RequestCancel', data: { by: 'alice', at: new Date().toISOString() } }).then(() => publishCancelHint(publisher, cancelPrefix, buildId));
          }, 200);
        },
      },
    });
    const wakes = new Set<() => void>();
    const hints = subscribeCancelHints(subscriber, cancelPrefix, (hinted) => {
      if (hinted === buildId) for (const wake of wakes) wake();
    });
    try {
      await subscriber.flush();
      const result = await runStage({
        engine,
        reporter,
        run: { buildId, repo: 'acme/app', buildNumber: 1, stage: sleeper, runId: `hint-${randomBytes(3).toString('hex')}`, trusted: false },
        leaseToken,
        secrets: {},
        now: () => new Date(),
        limits: { cancelPollMs: 60_000, tickMs: 100, log: { batchIntervalMs: 100 } },
        cancelHint: (wake) => {
          wakes.add(wake);
          return () => wakes.delete(wake);
        },
      });
      const tookMs = Date.now() - hintSent;
      assert.equal(result.stoppedBy, 'cancel');
      assert.equal(result.status, 'killed');
      assert.ok(reporter.events().some((e) => e.type === 'StageCancelled'));
      assert.ok(tookMs < 5000, `stopped ${tookMs} ms after the step started (the poll alone would take a minute)`);
      assert.equal(wakes.size, 0, 'the stage unregistered its wake');
    } finally {
      hints.close();
    }
  });
});
