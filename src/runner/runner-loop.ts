import { setTimeout as sleep } from 'node:timers/promises';
import type { Delivery, StageOffer, StageQueue, RunnerProfile } from '../dispatch/stage-queue.ts';
import { isIllegalCommand } from '../events/decider-errors.ts';
import type { Engine } from './engine.ts';
import type { Reporter } from './reporter.ts';
import { runStage, type RunStageOptions, type StageResult } from './stage-runner.ts';
import type { WorkspaceKeeper } from './workspace-keeper.ts';

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
  /** Keeps failed stages' workspaces for restarts from a step, and sweeps expired ones every `sweepEveryMs` (default 10 s). */
  keeper?: WorkspaceKeeper;
  sweepEveryMs?: number;
  /** Told whenever the stages this runner holds change (for its report: `GET /api/runners`). */
  onStagesChanged?: (stages: Array<{ buildId: string; stage: number; attempt: number }>) => void;
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
  const keeper = options.keeper;
  const holding = new Map<string, { buildId: string; stage: number; attempt: number }>();

  /**
   * A run keeps its `workspaceKey` only when the workspace is here; else it runs whole on a
   * fresh one. A restart's: this runner still keeps it (the keeper; it is reserved). A
   * requeued stage's (its runner was lost): the engine reaches it — docker, the volume on
   * the same docker engine; exec, the folder on the same host.
   */
  async function withWorkspace(run: ClaimedStage['run']): Promise<ClaimedStage['run']> {
    const key = run.workspaceKey;
    if (key === undefined) return run;
    const here =
      run.resumeFrom !== undefined
        ? keeper
          ? await keeper.take(key).catch(() => false)
          : false
        : await (engine.workspaces?.has(key) ?? Promise.resolve(false)).catch(() => false);
    return here ? run : { ...run, workspaceKey: undefined };
  }

  const sweeping = keeper
    ? (async () => {
        while (!signal.aborted) {
          await sleep(options.sweepEveryMs ?? 10_000, undefined, { signal }).catch(() => {});
          if (signal.aborted) break;
          const removed = await keeper.sweep();
          if (removed.length > 0) log(`runlog runner: removed ${removed.length} expired workspace${removed.length === 1 ? '' : 's'}: ${removed.join(', ')}`);
        }
      })()
    : Promise.resolve();
  const slot = async () => {
    while (!signal.aborted) {
      const delivery = await subscription.next(signal);
      if (!delivery) break;
      const claimed = await claim(delivery);
      if (!claimed) continue;
      const { offer } = delivery;
      const key = `${offer.buildId}:${offer.stage}`;
      holding.set(key, { buildId: offer.buildId, stage: offer.stage, attempt: offer.attempt });
      options.onStagesChanged?.([...holding.values()]);
      try {
        const run = await withWorkspace(claimed.run);
        const result = await runStage({
          ...claimed,
          run,
          engine,
          signal,
          now: options.now ?? (() => new Date()),
          keepFailedWorkspace: keeper !== undefined && keeper.retentionMs > 0,
        });
        if (result.keptWorkspace) keeper?.keep({ key: result.keptWorkspace, buildId: offer.buildId, stage: offer.stage });
        options.onStageEnded?.(offer, result);
      } catch (error) {
        log(`runlog runner: stage ${offer.buildId}#${offer.stage} failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        holding.delete(key);
        options.onStagesChanged?.([...holding.values()]);
      }
    }
  };

  async function claim(delivery: Delivery): Promise<ClaimedStage | undefined> {
    try {
      const claimed = await options.claim(delivery.offer);
      // Acked once the claim is recorded, but the stage does not wait for the queue's
      // confirmation (a round trip to NATS): an ack that is lost only brings the offer back
      // after the ack wait, and that claim is refused (stage_already_claimed) and termed.
      delivery.ack().catch((error: unknown) => log(`runlog runner: ack of ${delivery.offer.buildId}#${delivery.offer.stage} failed (${error instanceof Error ? error.message : String(error)}); the queue offers it again and that claim is refused`));
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
    await sweeping;
  }
}
