import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createLineSplitter, cursorAfter, LOG_START, LogGapError, type LineCursor, type LogLine } from '../../src/live/log-lines.ts';

const encoder = new TextEncoder();

/** `text` cut at the given code point indexes (chunks are text: never half a character) into chunks with their byte offsets. */
function chunksOf(whole: string, cuts: number[]) {
  const text = Array.from(whole);
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: { offset: number; data: string; time: number }[] = [];
  let previous = 0;
  let offset = 0;
  for (const point of [...points, text.length]) {
    if (point <= previous) continue;
    const data = text.slice(previous, point).join('');
    chunks.push({ offset, data, time: chunks.length });
    offset += encoder.encode(data).length;
    previous = point;
  }
  return chunks;
}

function readAll(chunks: ReturnType<typeof chunksOf>, start: LineCursor = LOG_START): LogLine[] {
  const splitter = createLineSplitter(start);
  const lines = chunks.flatMap((chunk) => splitter.push(chunk));
  return [...lines, ...splitter.flush()];
}

// Whole characters only (no lone surrogates): the log is text.
const logText = fc.array(fc.oneof(fc.constantFrom('\n', 'a', 'é', '€', '😀', ' '), fc.string({ maxLength: 4 })), { maxLength: 60 }).map((parts) => parts.join(''));

describe('log lines with resumable ids', () => {
  test('given chunks cut anywhere, when split, then the lines join back to the text and ids count lines and bytes', () => {
    fc.assert(
      fc.property(logText, fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
        const lines = readAll(chunksOf(text, cuts));
        assert.equal(lines.map((line) => line.out).join(''), text);
        lines.forEach((line, i) => {
          assert.equal(line.pos, i);
          const before = lines.slice(0, i + 1).map((l) => l.out).join('');
          assert.equal(line.id, `${i}:${encoder.encode(before).length}`);
        });
      }),
    );
  });

  test('given a client that resumes after any line, when the same chunks are read again, then it gets exactly the rest', () => {
    fc.assert(
      fc.property(logText, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), (text, cuts, otherCuts, pick) => {
        const lines = readAll(chunksOf(text, cuts));
        if (lines.length === 0) return;
        const seen = lines.slice(0, (pick % lines.length) + 1);
        const cursor = cursorAfter(seen.at(-1)!.id)!;
        // The server reads the chunks holding the cursor's byte and later ones (here: all of them, cut differently).
        const rest = readAll(chunksOf(text, otherCuts), cursor);
        assert.deepEqual(
          [...seen, ...rest].map((line) => [line.pos, line.out]),
          lines.map((line) => [line.pos, line.out]),
        );
      }),
    );
  });

  test('given a chunk past the next byte, when pushed, then it is a gap, not a silent hole', () => {
    const splitter = createLineSplitter();
    splitter.push({ offset: 0, data: 'a\n', time: 0 });
    assert.throws(() => splitter.push({ offset: 5, data: 'b\n', time: 0 }), LogGapError);
  });

  test('given ids that are not ours, when parsed, then there is no cursor', () => {
    for (const id of ['', 'x', '1', '1:', ':1', '-1:2', '1:2:3', '1.5:2']) assert.equal(cursorAfter(id), undefined, id);
    assert.deepEqual(cursorAfter('4:120'), { pos: 5, byte: 120 });
  });
});
