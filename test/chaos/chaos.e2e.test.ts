import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos } from '../../bench/chaos.ts';

// The chaos script's own code, one round of each kind (npm run chaos -- --rounds 20 is the soak):
// kill -9 a runner mid-step, kill -9 the server mid-build, kill -9 and restart nats-server.
test('given builds in flight, when a runner, the server and nats-server are each killed with SIGKILL, then every build still ends in success, each step ran as often as its StepStarted says, and runlog verify finds the log and views intact', { timeout: 240_000 }, async () => {
  const lines: string[] = [];
  const results = await runChaos({ rounds: 1, log: (line) => lines.push(line) });
  assert.deepEqual(
    results.map((r) => r.kind),
    ['runner', 'server', 'nats'],
  );
  for (const result of results) assert.ok(result.ok, `${result.kind}: ${result.detail}\n${lines.join('\n')}`);
  assert.match(results[0]!.detail, /→/);
  assert.match(lines.at(-1)!, /^chaos: 3\/3 rounds ok/);
});
