import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainedEvent } from '../../src/events/hash-chain.ts';
import { GENESIS_HASH, eventHash, verifyChain } from '../../src/events/hash-chain.ts';

/** A correctly chained stream of `count` events. */
function chain(streamId: string, count: number): ChainedEvent[] {
  const events: ChainedEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let v = 1; v <= count; v += 1) {
    const content = { streamId, streamVersion: v, type: `E${v}`, data: { v }, metadata: { actor: 'a' } };
    const hash = eventHash(prevHash, content);
    events.push({ ...content, prevHash, hash });
    prevHash = hash;
  }
  return events;
}

const kinds = (events: Iterable<ChainedEvent>) => verifyChain(events).problems.map((p) => [p.kind, p.streamId, p.streamVersion]);

describe('eventHash', () => {
  it('is sha256 over prevHash and the canonical content, whatever the key order', () => {
    const a = eventHash(GENESIS_HASH, { streamId: 's', streamVersion: 1, type: 'T', data: { x: 1, y: 2 }, metadata: {} });
    const b = eventHash(GENESIS_HASH, { metadata: {}, data: { y: 2, x: 1 }, type: 'T', streamVersion: 1, streamId: 's' });
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, eventHash('1'.repeat(64), { streamId: 's', streamVersion: 1, type: 'T', data: { x: 1, y: 2 }, metadata: {} }));
  });
});

describe('verifyChain', () => {
  it('accepts intact streams, interleaved in any log order', () => {
    const [a1, a2, a3] = chain('a', 3);
    const [b1, b2] = chain('b', 2);
    assert.deepEqual(verifyChain([a1!, b1!, a2!, b2!, a3!]), { ok: true, streams: 2, events: 5, problems: [] });
    assert.deepEqual(verifyChain([]), { ok: true, streams: 0, events: 0, problems: [] });
  });

  it('finds an edited event (content changed, hash left alone)', () => {
    const events = chain('s', 4);
    events[1] = { ...events[1]!, data: { v: 99 } };
    assert.deepEqual(kinds(events), [['edited', 's', 2]]);
  });

  it('finds an edited event whose hash was recomputed, by the next event no longer linking to it', () => {
    const events = chain('s', 4);
    const forged = { ...events[1]!, data: { v: 99 } };
    events[1] = { ...forged, hash: eventHash(forged.prevHash, forged) };
    const [problem] = verifyChain(events).problems;
    assert.deepEqual([problem?.kind, problem?.streamVersion], ['edited', 2]);
    assert.match(problem!.detail, /recomputed/);
  });

  it('finds deleted events in the middle and at the start', () => {
    const events = chain('s', 5);
    assert.deepEqual(kinds(events.filter((e) => e.streamVersion !== 3)), [['deleted', 's', 3]]);
    assert.deepEqual(kinds(events.filter((e) => e.streamVersion > 2)), [
      ['deleted', 's', 1],
      ['deleted', 's', 2],
    ]);
  });

  it('finds events stored at each other’s versions', () => {
    const events = chain('s', 4);
    const swapped = events.map((e) => (e.streamVersion === 2 ? { ...e, streamVersion: 3 } : e.streamVersion === 3 ? { ...e, streamVersion: 2 } : e));
    assert.deepEqual(kinds(swapped), [
      ['reordered', 's', 2],
      ['reordered', 's', 3],
    ]);
  });

  it('finds events out of order in the order given', () => {
    const [e1, e2, e3, e4] = chain('s', 4);
    assert.deepEqual(kinds([e1!, e3!, e2!, e4!]), [['reordered', 's', 2]]);
  });

  it('finds a version stored twice and a first event that does not start the chain', () => {
    const events = chain('s', 2);
    assert.deepEqual(kinds([...events, events[1]!]), [
      ['reordered', 's', 2],
      ['edited', 's', 2],
    ]);
    const [first] = chain('t', 1);
    const rebased = { ...first!, prevHash: '1'.repeat(64) };
    assert.deepEqual(kinds([{ ...rebased, hash: eventHash(rebased.prevHash, rebased) }]), [['edited', 't', 1]]);
  });

  it('reports each stream separately', () => {
    const a = chain('a', 3);
    const b = chain('b', 3);
    a[0] = { ...a[0]!, type: 'Changed' };
    const report = verifyChain([...a, ...b.filter((e) => e.streamVersion !== 2)]);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.streamId, p.streamVersion]),
      [
        ['edited', 'a', 1],
        ['deleted', 'b', 2],
      ],
    );
  });
});
