// The StageQueue contract on the in-process queue of the embedded mode.
import { describe } from 'node:test';
import { createMemoryQueue } from '../../src/dispatch/memory-queue.ts';
import { stageQueueContract } from './stage-queue.contract.ts';

describe('StageQueue in memory', () => {
  stageQueueContract(async ({ ackWaitMs }) => {
    const queue = createMemoryQueue({ ackWaitMs });
    // One process, one queue: a second runner shares the same instance.
    return { queue, peer: async () => queue, dispose: () => queue.close() };
  }, 300);
});
