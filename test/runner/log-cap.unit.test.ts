import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLogCap, DEFAULT_LOG_CAP } from '../../src/runner/log-cap.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Runs `pieces` through a cap of `limit` bytes; returns what it passed on, piece by piece. */
function capped(limit: number, pieces: string[]) {
  const out: Uint8Array[] = [];
  const cap = createLogCap(limit, (bytes) => out.push(bytes));
  for (const piece of pieces) cap.write(encoder.encode(piece));
  cap.end();
  const size = out.reduce((sum, bytes) => sum + bytes.length, 0);
  // fatal: every piece must decode alone, i.e. no cut inside a character.
  const text = out.map((bytes) => decoder.decode(bytes)).join('');
  return { text, size, stats: cap.stats() };
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`);

describe('log cap', () => {
  it('passes a log under the cap through unchanged', () => {
    const pieces = lines(0, 100);
    const { text, stats } = capped(4096, pieces);
    assert.equal(text, pieces.join(''));
    assert.deepEqual(stats, { cutBytes: 0, cutLines: 0 });
  });

  it('keeps the head and the tail of a long log, with a marker line saying how much was cut', () => {
    const all = lines(0, 10_000);
    const { text, size, stats } = capped(8192, all);
    assert.ok(size <= 8192, `stored ${size} bytes`);
    const [head, rest] = text.split(/^--- runlog: .*---\n/m);
    assert.ok(rest !== undefined, 'marker line present');
    assert.ok(head.startsWith('line 0\nline 1\n'));
    assert.ok(head.endsWith('\n'), 'head ends at a line break');
    assert.ok(rest.endsWith('line 9999\n'));
    assert.match(rest, /^line \d+\n/, 'tail starts at a whole line');
    const marker = /--- runlog: (\d+) bytes \((\d+) lines\) cut here/.exec(text);
    assert.ok(marker);
    assert.equal(Number(marker[1]), stats.cutBytes);
    assert.equal(Number(marker[2]), stats.cutLines);
    // What was kept plus what was cut is the whole log.
    const kept = text.replace(/^--- runlog: .*---\n/m, '');
    assert.equal(kept.length + stats.cutBytes, all.join('').length);
    assert.equal(kept.split('\n').length - 1 + stats.cutLines, all.length);
  });

  it('passes the head on at once and holds only the tail', () => {
    const out: Uint8Array[] = [];
    const cap = createLogCap(2048, (bytes) => out.push(bytes));
    cap.write(encoder.encode('a'.repeat(500) + '\n'));
    assert.equal(out.length, 1);
    cap.write(encoder.encode('b'.repeat(5000)));
    const before = out.length;
    cap.write(encoder.encode('c'.repeat(5000)));
    assert.equal(out.length, before, 'nothing more until the end');
    cap.end();
    assert.match(decoder.decode(out.at(-1)), /^c+$/);
  });

  it('never cuts inside a character and never exceeds the cap, for any text', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 40 }),
        fc.integer({ min: 1024, max: 4096 }),
        (pieces, limit) => {
          const { size } = capped(limit, pieces); // throws on a split character
          assert.ok(size <= limit);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a cap too small to hold a marker, naming the value', () => {
    assert.throws(() => createLogCap(10, () => {}), /at least 1024 bytes, got 10/);
    assert.equal(DEFAULT_LOG_CAP, 5 * 1024 * 1024);
  });
});
