import { setTimeout as sleep } from 'node:timers/promises';
import type { Delivery, StageOffer, StageQueue, RunnerProfile } from '../dispatch/stage-queue.ts';
import { isIllegalCommand } from '../events/decider-errors.ts';
import type { Engine } from './engine.ts';
import type { Reporter } from './reporter.ts';
import { runStage, type RunStageOptions, type StageResult } from './stage-runner.ts';

/** What a claimed stage needs to run, as the claim's owner (server or RPC) tells it. */
export type ClaimedStage = Omit<RunStageOptions, 'engine' | 'signal' | 'now'> & { reporter: Reporter };

export type RunnerLoopOptions = {
  queue: StageQueue;
  profile: RunnerProfile;
  engine: Engine;
  /** Parallel stages. */
  capacity: number;
  /** Records the claim (the decider refuses a second one); rejects with IllegalCommand when refused. */
  claim(offer: StageOffer): Promise<ClaimedStage>;
  signal: AbortSignal;
  now?: () => Date;
  log?: (message: string) => void;
  /** Told about every stage that ended on this runner. */
  onStageEnded?: (offer: StageOffer, result: StageResult) => void;
};

/**
 * A runner's main loop: `capacity` slots, each waiting for a delivery from the runner's
 * pools, claiming it, acking it once the claim is recorded, and running the stage. A claim
 * the decider refuses for good (a stale attempt, a stage already claimed, cancelled or
 * ended) is termed; any other failure hands the offer back for a later try. Resolves once
 * `signal` aborted and every running stage was stopped and handed back.
 */
export async function runRunnerLoop(options: RunnerLoopOptions): Promise<void> {
  const { queue, engine, signal } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const subscription = await queue.pool(options.profile);
  const slot = async () => {
    while (!signal.aborted) {
      const delivery = await subscription.next(signal);
      if (!delivery) break;
      const claimed = await claim(delivery);
      if (!claimed) continue;
      try {
        const result = await runStage({ ...claimed, engine, signal, now: options.now ?? (() => new Date()) });
        options.onStageEnded?.(delivery.offer, result);
      } catch (error) {
        log(`runlog runner: stage ${delivery.offer.buildId}#${delivery.offer.stage} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  async function claim(delivery: Delivery): Promise<ClaimedStage | undefined> {
    try {
      const claimed = await options.claim(delivery.offer);
      await delivery.ack();
      return claimed;
    } catch (error) {
      if (isIllegalCommand(error)) {
        await delivery.term();
      } else {
        log(`runlog runner: could not claim ${delivery.offer.buildId}#${delivery.offer.stage}: ${error instanceof Error ? error.message : String(error)}; handing it back`);
        await delivery.nak(1000);
        await sleep(500, undefined, { signal }).catch(() => {});
      }
      return undefined;
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.max(1, options.capacity) }, slot));
  } finally {
    await subscription.close();
  }
}
