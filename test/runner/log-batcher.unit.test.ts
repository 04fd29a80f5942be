import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogBatcher, type LogChunk } from '../../src/runner/log-batcher.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('log batcher', () => {
  it('sends a chunk once maxBytes are buffered, with byte offsets, and the rest at close', async () => {
    const sent: LogChunk[] = [];
    const batcher = createLogBatcher({ send: async (chunk) => void sent.push(chunk), maxBytes: 10, intervalMs: 60_000 });
    batcher.write(bytes('12345'));
    batcher.write(bytes('67890'));
    batcher.write(bytes('héllo'));
    const summary = await batcher.close();
    assert.deepEqual(sent, [
      { offset: 0, data: '1234567890' },
      { offset: 10, data: 'héllo' },
    ]);
    const all = '1234567890héllo';
    assert.equal(summary.size, Buffer.byteLength(all));
    assert.equal(summary.sha256, createHash('sha256').update(all).digest('hex'));
  });

  it('sends what is buffered after the interval even when little was written', async () => {
    const sent: LogChunk[] = [];
    const batcher = createLogBatcher({ send: async (chunk) => void sent.push(chunk), intervalMs: 30 });
    batcher.write(bytes('tick\n'));
    assert.equal(sent.length, 0);
    await sleep(80);
    assert.deepEqual(sent, [{ offset: 0, data: 'tick\n' }]);
    await batcher.close();
  });

  it('sends one chunk at a time, in order, even when send is slow', async () => {
    const order: number[] = [];
    let inFlight = 0;
    const batcher = createLogBatcher({
      maxBytes: 1,
      send: async (chunk) => {
        inFlight++;
        assert.equal(inFlight, 1);
        await sleep(5 - chunk.offset);
        order.push(chunk.offset);
        inFlight--;
      },
    });
    for (const c of 'abcd') batcher.write(bytes(c));
    await batcher.close();
    assert.deepEqual(order, [0, 1, 2, 3]);
  });

  it('stops sending after a failed send and rejects close with its error', async () => {
    let calls = 0;
    const batcher = createLogBatcher({
      maxBytes: 1,
      send: async () => {
        calls++;
        throw new Error('stale lease');
      },
    });
    batcher.write(bytes('a'));
    batcher.write(bytes('b'));
    await assert.rejects(batcher.close(), /stale lease/);
    assert.equal(calls, 1);
  });

  it('an empty log has size 0 and the sha256 of nothing', async () => {
    const summary = await createLogBatcher({ send: async () => {} }).close();
    assert.deepEqual(summary, { size: 0, sha256: createHash('sha256').digest('hex') });
  });

  it('stores bytes that are not UTF-8 as U+FFFD, and counts and hashes what it stored', async () => {
    const sent: LogChunk[] = [];
    const batcher = createLogBatcher({ send: async (chunk) => void sent.push(chunk) });
    batcher.write(new Uint8Array([0x61, 0xff, 0x62]));
    const summary = await batcher.close();
    assert.equal(sent[0].data, 'a\ufffdb');
    assert.equal(summary.size, Buffer.byteLength('a\ufffdb'));
    assert.equal(summary.sha256, createHash('sha256').update('a\ufffdb').digest('hex'));
  });
});
