import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkpointOf, compareCheckpoints, formatCheckpoint, parseCheckpoint } from '../../src/events/checkpoint.ts';

describe('checkpoints', () => {
  it('round-trip through their string form', () => {
    const checkpoint = { transactionId: '18446744073709551615', globalPosition: '9007199254740993' };
    assert.equal(formatCheckpoint(checkpoint), '18446744073709551615:9007199254740993');
    assert.deepEqual(parseCheckpoint(formatCheckpoint(checkpoint)), checkpoint);
  });

  it('refuse text that is not "<digits>:<digits>", quoting it', () => {
    for (const bad of ['', '1', '1:', ':1', '1:2:3', 'a:1', '-1:2', '01:2', '1.5:2']) {
      assert.throws(() => parseCheckpoint(bad), (error: unknown) => error instanceof TypeError && error.message.includes(JSON.stringify(bad)));
    }
  });

  it('compare by transaction id, then position, as numbers; null is the start', () => {
    const at = (text: string) => parseCheckpoint(text);
    assert.ok(compareCheckpoints(at('9:100'), at('10:1')) < 0, 'numeric, not string, order');
    assert.ok(compareCheckpoints(at('10:2'), at('10:1')) > 0);
    assert.equal(compareCheckpoints(at('10:2'), at('10:2')), 0);
    assert.ok(compareCheckpoints(null, at('0:0')) < 0);
    assert.equal(compareCheckpoints(null, null), 0);
  });

  it('of an event keeps only its place in the log', () => {
    assert.deepEqual(checkpointOf({ transactionId: '5', globalPosition: '7', streamId: 's' } as never), { transactionId: '5', globalPosition: '7' });
  });
});
