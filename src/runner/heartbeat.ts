import { setTimeout as sleep } from 'node:timers/promises';
import { isIllegalCommand } from '../events/decider-errors.ts';
import type { RpcClient } from '../rpc/client.ts';

export type Heartbeat = {
  /** The server refused a renewal: another token holds the stage, or none does. */
  readonly lost: boolean;
  stop(): void;
};

/**
 * Renews a claimed stage's lease every `everyMs` (a third of the TTL, so one lost beat
 * does not lose the stage) until stopped or `signal` aborts. A refusal (403 `stale_lease`)
 * means the reaper took the stage: `lost` turns true, the beat stops, and the reporter
 * tells the stage runner at its next cancel poll. Network failures are only logged: the
 * lease may still live, and if the server stays out of reach it lapses on its own.
 */
export function startHeartbeat(options: {
  client: RpcClient;
  buildId: string;
  stage: number;
  leaseToken: string;
  everyMs: number;
  signal: AbortSignal;
  log?: (message: string) => void;
}): Heartbeat {
  const stopped = new AbortController();
  const signal = AbortSignal.any([options.signal, stopped.signal]);
  let lost = false;
  void (async () => {
    while (!signal.aborted) {
      await sleep(options.everyMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      try {
        await options.client.post(`/builds/${options.buildId}/heartbeat`, { stage: options.stage, leaseToken: options.leaseToken }, signal);
      } catch (error) {
        if (isIllegalCommand(error)) {
          lost = true;
          break;
        }
        if (!signal.aborted) options.log?.(`runlog runner: heartbeat of ${options.buildId}#${options.stage} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  })();
  return {
    get lost() {
      return lost;
    },
    stop: () => stopped.abort(),
  };
}
