import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prepareEvents } from '../../src/events/append-to-stream.ts';
import { withEventMetadata } from '../../src/events/request-scope.ts';

const metadataOf = (metadata: Record<string, unknown> = {}, own?: Record<string, unknown>) =>
  prepareEvents('s-1', 0, [{ type: 'Happened', data: {}, ...(own ? { metadata: own } : {}) }], metadata)[0]!.metadata;

describe('request-scoped event metadata', () => {
  test('given a scope, then events prepared inside it carry its metadata under their own, and those outside none', async () => {
    assert.deepEqual(metadataOf({ actor: 'alice' }), { actor: 'alice' });
    await withEventMetadata({ requestId: 'r-1' }, async () => {
      await Promise.resolve();
      assert.deepEqual(metadataOf({ actor: 'alice' }), { requestId: 'r-1', actor: 'alice' });
      assert.deepEqual(metadataOf({ requestId: 'explicit' }), { requestId: 'explicit' });
      assert.deepEqual(metadataOf({}, { requestId: 'own' }), { requestId: 'own' });
    });
    assert.deepEqual(metadataOf(), {});
  });

  test('given work a request started that goes on after it answered, then what it prepares later is not tagged with that request', async () => {
    let later: Promise<Record<string, unknown>> | undefined;
    await withEventMetadata({ requestId: 'r-2' }, async () => {
      later = new Promise((resolve) => setTimeout(() => resolve(metadataOf()), 20));
      assert.deepEqual(metadataOf(), { requestId: 'r-2' });
    });
    assert.deepEqual(await later, {});
  });

  test('given two requests at once, then each one\'s events carry its own id', async () => {
    const seen = await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        withEventMetadata({ requestId: id }, async () => {
          await new Promise((resolve) => setTimeout(resolve, id === 'a' ? 15 : 5));
          return metadataOf().requestId;
        }),
      ),
    );
    assert.deepEqual(seen, ['a', 'b', 'c']);
  });
});
