import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { IllegalCommand } from '../../src/events/decider-errors.ts';
import type { RpcClient } from '../../src/rpc/client.ts';
import { startHeartbeat } from '../../src/runner/heartbeat.ts';

const fakeClient = (answer: () => Promise<unknown>) => {
  const calls: unknown[] = [];
  const client: RpcClient = {
    get: async () => {
      throw new Error('not used');
    },
    post: async <T>(_path: string, body: unknown) => {
      calls.push(body);
      return (await answer()) as T;
    },
  };
  return { client, calls };
};

describe('heartbeat', () => {
  test('given a live stage runner, it beats; once nothing touched it for idleMs, it stops so the lease can lapse', async () => {
    const { client, calls } = fakeClient(async () => ({}));
    const stop = new AbortController();
    const beat = startHeartbeat({ client, buildId: 'b', stage: 1, leaseToken: 't', everyMs: 20, idleMs: 150, signal: stop.signal });
    for (let i = 0; i < 10; i++) {
      beat.touch();
      await sleep(20);
    }
    const whileTouched = calls.length;
    assert.ok(whileTouched >= 5, `beat ${whileTouched} times while touched`);
    await sleep(300);
    const afterIdle = calls.length;
    await sleep(100);
    assert.equal(calls.length, afterIdle, 'no beats once idle');
    assert.equal(beat.lost, false);
    stop.abort();
  });

  test('given a refusal, it is lost and stops; network errors only log', async () => {
    let refuse = false;
    const logs: string[] = [];
    const { client, calls } = fakeClient(async () => {
      if (refuse) throw new IllegalCommand('stale_lease', 'gone');
      throw new TypeError('fetch failed');
    });
    const stop = new AbortController();
    const beat = startHeartbeat({ client, buildId: 'b', stage: 1, leaseToken: 't', everyMs: 10, signal: stop.signal, log: (m) => logs.push(m) });
    await sleep(60);
    assert.equal(beat.lost, false);
    assert.ok(logs.some((m) => m.includes('fetch failed')));
    refuse = true;
    for (let i = 0; i < 50 && !beat.lost; i++) await sleep(10);
    assert.equal(beat.lost, true);
    const n = calls.length;
    await sleep(50);
    assert.equal(calls.length, n, 'no beats once lost');
    stop.abort();
  });
});
