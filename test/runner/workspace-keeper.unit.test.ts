import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createWorkspaceKeeper, parseRetention } from '../../src/runner/workspace-keeper.ts';

describe('workspace keeper', () => {
  it('keeps a workspace until it expires, hands it out once, and sweeps it from the engine after', async () => {
    let now = Date.UTC(2026, 0, 1);
    const present = new Set(['a', 'b']);
    const removed: string[] = [];
    const keeper = createWorkspaceKeeper({
      workspaces: { has: async (key) => present.has(key), remove: async (key) => void removed.push(key) },
      retentionMs: 60_000,
      now: () => new Date(now),
    });
    keeper.keep({ key: 'a', buildId: 'b1', stage: 1 });
    keeper.keep({ key: 'b', buildId: 'b2', stage: 1 });
    assert.deepEqual(keeper.list().map((w) => w.key), ['a', 'b']);
    assert.equal(await keeper.take('a'), true);
    assert.equal(await keeper.take('a'), false, 'taken once');
    assert.equal(await keeper.take('zzz'), false);
    now += 61_000;
    assert.deepEqual(keeper.list(), [], 'expired ones are not listed');
    assert.equal(await keeper.take('b'), false, 'expired ones are not handed out');
    assert.deepEqual(await keeper.sweep(), ['b']);
    assert.deepEqual(removed, ['b'], 'the workspace in use (a) is not swept');
  });

  it('keeps nothing with a retention of 0', () => {
    const keeper = createWorkspaceKeeper({ workspaces: { has: async () => true, remove: async () => {} }, retentionMs: 0 });
    keeper.keep({ key: 'a', buildId: 'b', stage: 1 });
    assert.deepEqual(keeper.list(), []);
  });
});

describe('RUNLOG_WORKSPACE_RETENTION', () => {
  it('reads 30m, 1h, 90s, 2d and bare seconds', () => {
    assert.equal(parseRetention('30m'), 1_800_000);
    assert.equal(parseRetention('1h'), 3_600_000);
    assert.equal(parseRetention('90s'), 90_000);
    assert.equal(parseRetention('2d'), 172_800_000);
    assert.equal(parseRetention('1800'), 1_800_000);
    assert.equal(parseRetention('0'), 0);
  });

  it('either reads a duration up to a year or throws a TypeError saying what it accepts, for any text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const ms = parseRetention(text);
          assert.ok(Number.isInteger(ms) && ms >= 0 && ms <= 365 * 86_400_000);
        } catch (error) {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /30m|at most a year/);
        }
      }),
    );
    assert.throws(() => parseRetention('-5m'), TypeError);
    assert.throws(() => parseRetention('5 weeks'), TypeError);
  });
});
