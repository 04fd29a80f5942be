import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createChainWalker, inLogOrder, type WalkedEvent } from '../../src/audit/chain-walk.ts';
import { eventHash, verifyChain } from '../../src/events/hash-chain.ts';
import { createProgress, progressText } from '../../src/audit/progress.ts';
import { parseAge } from '../../src/audit/prune.ts';
import { auditHistories, storedHistory } from './audit-histories.ts';

/** Two streams interleaved in log order, as the store gives them. */
function log(): WalkedEvent[] {
  const [a, b] = auditHistories().map((history, i) => storedHistory(history, { firstPosition: i + 1, positionStep: 2 }));
  return inLogOrder(
    [...a!, ...b!].map((e) => ({
      transactionId: e.position,
      globalPosition: e.position,
      streamId: e.streamId,
      streamVersion: e.version,
      type: e.type,
      data: e.data,
      metadata: e.metadata,
      prevHash: e.prevHash,
      hash: e.hash,
    })),
  );
}

describe('chain walk', () => {
  test('given intact streams fed in batches that overlap, then nothing is suspect and every head is the last event', () => {
    const events = log();
    const walker = createChainWalker();
    walker.feed(events.slice(0, 10));
    walker.feed(events.slice(5, 30));
    walker.feed(events.slice(20));
    assert.deepEqual(walker.suspects(), []);
    assert.equal(walker.events, events.length);
    assert.equal(walker.streams, 2);
    const last = events.filter((e) => e.streamId === events[0]!.streamId).at(-1)!;
    const head = walker.heads().get(last.streamId)!;
    assert.deepEqual([head.version, head.hash], [last.streamVersion, last.hash]);
    assert.equal(walker.last?.globalPosition, events.at(-1)!.globalPosition);
  });

  test('given an edit, a deletion, a swap or a recomputed hash, then exactly that stream is suspect, and verifyChain names the version', () => {
    const cases: Array<[string, (events: WalkedEvent[]) => WalkedEvent[], string, number]> = [
      ['edited', (events) => events.map((e, i) => (i === 6 ? { ...e, data: { ...(e.data as object), at: '2030-01-01T00:00:00.000Z' } } : e)), 'edited', 0],
      ['deleted', (events) => events.filter((_, i) => i !== 6), 'deleted', 0],
      [
        'swapped in the log',
        (events) => {
          // Event 6 and the next event of its stream trade positions (as an UPDATE of global_position would), then read in log order.
          const copy = [...events];
          const j = copy.findIndex((e, k) => k > 6 && e.streamId === copy[6]!.streamId);
          const [a, b] = [copy[6]!, copy[j]!];
          copy[6] = { ...a, transactionId: b.transactionId, globalPosition: b.globalPosition };
          copy[j] = { ...b, transactionId: a.transactionId, globalPosition: a.globalPosition };
          return inLogOrder(copy);
        },
        'reordered',
        0,
      ],
      [
        'hash recomputed after an edit',
        (events) =>
          events.map((e, i) => {
            if (i !== 6) return e;
            const data = { ...(e.data as object), at: '2030-01-01T00:00:00.000Z' };
            return { ...e, data, hash: eventHash(e.prevHash, { ...e, data }) };
          }),
        'edited',
        0,
      ],
    ];
    for (const [name, tamper, kind] of cases) {
      const events = tamper(log());
      const walker = createChainWalker();
      walker.feed(events);
      const target = log()[6]!.streamId;
      assert.deepEqual(walker.suspects(), [target], name);
      const problems = verifyChain(events.filter((e) => e.streamId === target)).problems;
      assert.ok(problems.some((p) => p.kind === kind), `${name}: ${JSON.stringify(problems)}`);
    }
  });
});

describe('progress and ages', () => {
  test('given a terminal, then a bar is redrawn in place; otherwise plain lines, at most every few seconds', () => {
    assert.equal(progressText('verify', 250, 1000, 1000), 'verify [######------------------]  25%  250/1,000 events  250 events/s');
    assert.equal(progressText('verify', 250, 1000, 1000, 'events', false), 'verify:  25%  250/1,000 events  250 events/s');
    assert.equal(progressText('export', 250, 0, 0), 'export: 250 events');
    let clock = 0;
    const written: string[] = [];
    const tty = createProgress({ stream: { isTTY: true, write: (text: string) => written.push(text) }, now: () => clock });
    tty.update('verify', 1, 10);
    clock = 50;
    tty.update('verify', 2, 10);
    clock = 200;
    tty.update('verify', 3, 10);
    tty.end();
    assert.equal(written.length, 3);
    assert.ok(written[0]!.startsWith('\rverify ['));
    assert.equal(written[2], '\r\u001b[K');
    const lines: string[] = [];
    const plain = createProgress({ stream: { isTTY: false, write: (text: string) => lines.push(text) }, now: () => clock });
    plain.update('verify', 1, 10);
    clock = 1000;
    plain.update('verify', 2, 10);
    plain.update('import', 2, 10);
    assert.deepEqual(lines.map((l) => l.split(':')[0]), ['verify', 'import']);
    assert.ok(lines.every((l) => l.endsWith('\n') && !l.includes('\r')));
  });

  test('given ages, then they read as milliseconds; anything else says what is accepted', () => {
    assert.equal(parseAge('90d'), 90 * 86_400_000);
    assert.equal(parseAge('12h'), 12 * 3_600_000);
    assert.equal(parseAge('2w'), 14 * 86_400_000);
    assert.equal(parseAge('30 minutes'), 1_800_000);
    for (const bad of ['', '90', 'd', '0d', '-1d', '3 fortnights']) assert.throws(() => parseAge(bad), /expected an age like 90d|more than zero/, bad);
  });
});
