import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { matches, nextAfter, parseCron, type CronSchedule } from '../../src/cron/cron-expression.ts';

const schedule = (text: string): CronSchedule => {
  const parsed = parseCron(text);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.schedule;
};
const at = (iso: string) => new Date(iso);

test('Drone expressions and descriptors give the slots Drone runs them at (UTC)', () => {
  assert.equal(nextAfter(schedule('@hourly'), at('2026-01-01T10:00:00Z'))?.toISOString(), '2026-01-01T11:00:00.000Z');
  assert.equal(nextAfter(schedule('@daily'), at('2026-01-01T10:00:00Z'))?.toISOString(), '2026-01-02T00:00:00.000Z');
  assert.equal(nextAfter(schedule('@weekly'), at('2026-01-01T10:00:00Z'))?.toISOString(), '2026-01-04T00:00:00.000Z');
  assert.equal(nextAfter(schedule('@monthly'), at('2026-01-31T10:00:00Z'))?.toISOString(), '2026-02-01T00:00:00.000Z');
  assert.equal(nextAfter(schedule('@yearly'), at('2026-03-01T00:00:00Z'))?.toISOString(), '2027-01-01T00:00:00.000Z');
  assert.equal(nextAfter(schedule('*/15 * * * * *'), at('2026-01-01T10:00:14.500Z'))?.toISOString(), '2026-01-01T10:00:15.000Z');
  assert.equal(nextAfter(schedule('0 30 9 * * MON-FRI'), at('2026-01-02T09:30:00Z'))?.toISOString(), '2026-01-05T09:30:00.000Z');
  assert.equal(nextAfter(schedule('0 0 12 29 2 *'), at('2026-03-01T00:00:00Z'))?.toISOString(), '2028-02-29T12:00:00.000Z');
  assert.equal(nextAfter(schedule('30 4 * * *'), at('2026-01-01T05:00:00Z'))?.toISOString(), '2026-01-02T04:30:00.000Z', 'five fields: seconds are 0');
  assert.equal(nextAfter(schedule('0 0 0 13 * 5'), at('2026-01-01T00:00:00Z'))?.toISOString(), '2026-01-02T00:00:00.000Z', 'both day fields: either matches');
  assert.equal(nextAfter(schedule('@every 1h30m'), at('2026-01-01T10:00:00.700Z'))?.toISOString(), '2026-01-01T11:30:00.000Z');
  assert.equal(nextAfter(schedule('0 0 0 30 2 *'), at('2026-01-01T00:00:00Z')), undefined, '30 February never comes');
});

test('bad expressions say what is wrong', () => {
  const error = (text: string) => {
    const parsed = parseCron(text);
    assert.ok(!parsed.ok);
    return parsed.error;
  };
  assert.match(error(''), /empty/);
  assert.match(error('* * *'), /expected 6 fields .* got 3/);
  assert.match(error('61 * * * * *'), /seconds '61': 61 is outside 0-59/);
  assert.match(error('* * * * FOO *'), /month 'FOO'/);
  assert.match(error('* * * * * */0'), /step/);
  assert.match(error('* 5-1 * * * *'), /backwards/);
  assert.match(error('@sometimes'), /unknown descriptor/);
  assert.match(error('@every 5x'), /duration/);
});

test('property: parsing never throws', () => {
  fc.assert(fc.property(fc.string({ maxLength: 60 }), (text) => void parseCron(text)));
  fc.assert(fc.property(fc.array(fc.constantFrom('*', '?', '0', '5', '1-3', '*/7', '2/5', 'MON', 'JAN', '7', ',', '-', '/'), { maxLength: 8 }), (parts) => void parseCron(parts.join(' '))));
});

const field = (max: number, min = 0) =>
  fc.oneof(
    fc.constant('*'),
    fc.integer({ min, max }).map(String),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.integer({ min: 1, max: 20 }).map((n) => `*/${n}`),
  );
const expression = fc.tuple(field(59), field(59), field(23), field(28, 1), field(12, 1), field(6)).map((parts) => parts.join(' '));
const instant = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true });

test('property: the next slot is later, whole, matches, and moves forward with time', () => {
  fc.assert(
    fc.property(expression, instant, fc.integer({ min: 0, max: 10 ** 9 }), (text, after, gap) => {
      const parsed = schedule(text);
      const next = nextAfter(parsed, after);
      if (!next) return;
      assert.ok(next > after);
      assert.equal(next.getTime() % 1000, 0);
      assert.ok(matches(parsed, next), `${text} at ${next.toISOString()}`);
      const later = nextAfter(parsed, new Date(after.getTime() + gap));
      if (later) assert.ok(later >= next);
      assert.ok((nextAfter(parsed, next) ?? new Date(8.64e15)) > next, 'a slot is never its own next');
    }),
    { numRuns: 300 },
  );
});

test('property: no slot is skipped (brute force over the hour before the next one)', () => {
  const hourly = fc.tuple(field(59), field(59)).map(([s, m]) => `${s} ${m} * * * *`);
  fc.assert(
    fc.property(hourly, instant, (text, after) => {
      const parsed = schedule(text);
      const next = nextAfter(parsed, after)!;
      assert.ok(next.getTime() - after.getTime() <= 3600_000);
      for (let t = Math.floor(after.getTime() / 1000) * 1000 + 1000; t < next.getTime(); t += 1000) assert.ok(!matches(parsed, new Date(t)), `${text}: ${new Date(t).toISOString()} matched before ${next.toISOString()}`);
    }),
    { numRuns: 100 },
  );
});
