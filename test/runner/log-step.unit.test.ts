import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { LogChunk } from '../../src/runner/log-batcher.ts';
import fc from 'fast-check';
import { createCharacterSplitter, createStepLog } from '../../src/runner/log-step.ts';

describe('step log (masker → cap → batcher)', () => {
  it('masks secrets split across engine chunks and UTF-8 characters, and summarises what was stored', async () => {
    const sent: LogChunk[] = [];
    let activity = 0;
    const log = createStepLog({
      secrets: ['sëcret-value'],
      send: async (chunk) => void sent.push(chunk),
      onActivity: () => activity++,
    });
    const raw = new TextEncoder().encode('token: sëcret-value\n');
    // Split inside the two-byte 'ë' and inside the secret.
    for (const at of [[0, 9], [9, 10], [10, 20], [20, raw.length]]) log.output(raw.subarray(at[0], at[1]));
    log.note('--- retry 1 ---');
    const summary = await log.finish();
    const stored = sent.map((c) => c.data).join('');
    assert.equal(stored, 'token: ********\n--- retry 1 ---\n');
    assert.equal(activity, 4);
    assert.equal(summary.size, Buffer.byteLength(stored));
    assert.equal(summary.sha256, createHash('sha256').update(stored).digest('hex'));
  });

  it('caps the stored log and hashes exactly what was stored', async () => {
    const sent: LogChunk[] = [];
    const log = createStepLog({ secrets: [], send: async (chunk) => void sent.push(chunk), limits: { capBytes: 4096, batchBytes: 512 } });
    for (let i = 0; i < 2000; i++) log.output(new TextEncoder().encode(`line ${i}\n`));
    const summary = await log.finish();
    const stored = sent.map((c) => c.data).join('');
    assert.ok(summary.size <= 4096);
    assert.match(stored, /--- runlog: \d+ bytes \(\d+ lines\) cut here/);
    assert.equal(summary.sha256, createHash('sha256').update(stored).digest('hex'));
    // Offsets are contiguous: each chunk starts where the previous one ended.
    let offset = 0;
    for (const chunk of sent) {
      assert.equal(chunk.offset, offset);
      offset += Buffer.byteLength(chunk.data);
    }
  });

  it('with no secrets, passes bytes through, still cutting only between characters', async () => {
    const sent: LogChunk[] = [];
    const log = createStepLog({ secrets: [], send: async (chunk) => void sent.push(chunk), limits: { batchBytes: 1 } });
    const raw = new TextEncoder().encode('€uro ok\n');
    log.output(raw.subarray(0, 1));
    log.output(raw.subarray(1, 3));
    log.output(raw.subarray(3));
    const summary = await log.finish();
    assert.deepEqual(sent.map((c) => c.data), ['€', 'uro ok\n']);
    assert.equal(summary.size, raw.length);
  });
});

describe('character splitter', () => {
  it('re-joins any split of UTF-8 text into the same text, each piece decoding alone', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
        const bytes = new TextEncoder().encode(text);
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const splitter = createCharacterSplitter();
        const strict = new TextDecoder('utf-8', { fatal: true });
        let out = '';
        let from = 0;
        for (const to of [...at, bytes.length]) {
          out += strict.decode(splitter.take(bytes.subarray(from, to)));
          from = to;
        }
        assert.equal(splitter.rest().length, 0);
        assert.equal(out, text);
      }),
    );
  });

  it('keeps an incomplete character at the very end for rest()', () => {
    const splitter = createCharacterSplitter();
    assert.deepEqual([...splitter.take(new Uint8Array([0x61, 0xe2, 0x82]))], [0x61]);
    assert.deepEqual([...splitter.rest()], [0xe2, 0x82]);
  });
});
