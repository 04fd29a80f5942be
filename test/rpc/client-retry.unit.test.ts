// A command whose answer was lost is sent again; the decider refuses the second. The client
// marks such refusals so the stage runner can tell "already recorded" from "taken away".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IllegalCommand } from '../../src/events/decider-errors.ts';
import { createRpcClient, isRefusalAfterRetry } from '../../src/rpc/client.ts';

const refusal = () => new Response(JSON.stringify({ code: 'step_not_pending', message: 'step 1 of stage 1 is running, not pending' }), { status: 409 });

function clientAnswering(answers: (() => Response)[]) {
  let calls = 0;
  const fetch = (async () => {
    const answer = answers[Math.min(calls++, answers.length - 1)]!;
    return answer();
  }) as typeof globalThis.fetch;
  return { client: createRpcClient({ server: 'http://127.0.0.1:1', secret: 's', retryForMs: 5000, fetch }), calls: () => calls };
}

describe('runner RPC client: refusals after a retry', () => {
  it('marks a refusal that answered a second try (the first was lost on the way)', async () => {
    const lost = () => {
      throw new TypeError('fetch failed: socket hang up');
    };
    const { client, calls } = clientAnswering([lost, refusal]);
    const error = await client.post('/builds/x/command', {}).catch((caught: unknown) => caught);
    assert.ok(error instanceof IllegalCommand);
    assert.equal(error.code, 'step_not_pending');
    assert.equal(calls(), 2);
    assert.equal(isRefusalAfterRetry(error), true);
  });

  it('does not mark a refusal that answered the first try', async () => {
    const { client } = clientAnswering([refusal]);
    const error = await client.post('/builds/x/command', {}).catch((caught: unknown) => caught);
    assert.ok(error instanceof IllegalCommand);
    assert.equal(isRefusalAfterRetry(error), false);
  });
});
