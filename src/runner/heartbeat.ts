import { setTimeout as sleep } from 'node:timers/promises';
import { isIllegalCommand } from '../events/decider-errors.ts';
import type { RpcClient } from '../rpc/client.ts';

export type Heartbeat = {
  /** The server refused a renewal: another token holds the stage, or none does. */
  readonly lost: boolean;
  /** The stage's reporter was used: its stage runner is alive. */
  touch(): void;
  stop(): void;
};

/**
 * Renews a claimed stage's lease every `everyMs` (a third of the TTL, so one lost beat
 * does not lose the stage) until stopped or `signal` aborts. A refusal (403 `stale_lease`)
 * means the reaper took the stage: `lost` turns true, the beat stops, and the reporter
 * tells the stage runner at its next cancel poll. Network failures are only logged: the
 * lease may still live, and if the server stays out of reach it lapses on its own.
 *
 * A stage runner that is alive calls its reporter every second (the cancel poll). If none
 * came for `idleMs`, the stage runner is gone (it failed without saying so): the beat
 * stops, so the lease lapses and the reaper requeues the stage instead of it being held
 * forever by a heartbeat with no stage behind it.
 */
export function startHeartbeat(options: {
  client: RpcClient;
  buildId: string;
  stage: number;
  leaseToken: string;
  everyMs: number;
  /** No `touch` for this long stops the beat; default 3 × `everyMs`, at least 30 s. */
  idleMs?: number;
  signal: AbortSignal;
  log?: (message: string) => void;
}): Heartbeat {
  const stopped = new AbortController();
  const signal = AbortSignal.any([options.signal, stopped.signal]);
  let lost = false;
  let touched = Date.now();
  const idleMs = options.idleMs ?? Math.max(30_000, 3 * options.everyMs);
  void (async () => {
    while (!signal.aborted) {
      await sleep(options.everyMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      if (Date.now() - touched > idleMs) {
        options.log?.(`runlog runner: nothing ran ${options.buildId}#${options.stage} for ${idleMs} ms; letting its lease lapse`);
        break;
      }
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
    touch: () => {
      touched = Date.now();
    },
    stop: () => stopped.abort(),
  };
}
