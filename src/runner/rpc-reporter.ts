import type { BuildCommandInput } from '../events/build-commands.ts';
import type { BuildEvent } from '../events/build-events.ts';
import { IllegalCommand, isIllegalCommand } from '../events/decider-errors.ts';
import type { RpcClient } from '../rpc/client.ts';
import type { Heartbeat } from './heartbeat.ts';
import type { Reporter } from './reporter.ts';

/** Events after which this runner no longer holds the stage, so its lease needs no renewal. */
const ENDS_CLAIM = new Set(['StageFinished', 'StageCancelled', 'StageTimedOut', 'StageInactive', 'StageLeaseExpired']);

/**
 * The `Reporter` of a distributed runner: the server's RPC, bound to one claimed stage.
 * Retries of network errors are the client's. The lease check is folded into the cancel
 * poll (reporter.ts allows it): once the heartbeat was refused, `cancelled()` rejects with
 * `stale_lease` and the stage runner stops without recording anything more.
 */
export function createRpcReporter(options: {
  client: RpcClient;
  buildId: string;
  stage: number;
  leaseToken: string;
  heartbeat: Heartbeat;
  /** The history the claim answered with: the first `history()` gives it without a round trip. */
  history?: BuildEvent[];
}): Reporter {
  const { client, buildId, heartbeat } = options;
  const path = `/builds/${buildId}`;
  let claimed = options.history;
  return {
    async history() {
      heartbeat.touch();
      if (claimed) {
        const events = claimed;
        claimed = undefined;
        return events;
      }
      return (await client.get<{ events: BuildEvent[] }>(`${path}/history`)).events;
    },
    async command(command: BuildCommandInput) {
      heartbeat.touch();
      try {
        const { events } = await client.post<{ events: BuildEvent[] }>(`${path}/command`, { command });
        if (events.some((event) => ENDS_CLAIM.has(event.type) && (event.data as { stage?: number }).stage === options.stage)) heartbeat.stop();
        return events;
      } catch (error) {
        if (isIllegalCommand(error) && error.code === 'stale_lease') heartbeat.stop();
        throw error;
      }
    },
    async log(stage, step, chunk) {
      heartbeat.touch();
      await client.post(`${path}/logs`, { stage, step, leaseToken: options.leaseToken, offset: chunk.offset, data: chunk.data });
    },
    async cancelled() {
      heartbeat.touch();
      if (heartbeat.lost) throw new IllegalCommand('stale_lease', `the lease on stage ${options.stage} of build ${buildId} lapsed: another runner may hold it now`);
      // With the lease: the server refuses (403 stale_lease) a runner whose stage another token holds.
      try {
        return (await client.get<{ cancelled: boolean }>(`${path}/cancelled?stage=${options.stage}&lease=${encodeURIComponent(options.leaseToken)}`)).cancelled;
      } finally {
        // A poll that waited out a server restart (the client retries) still shows the stage runner alive.
        heartbeat.touch();
      }
    },
  };
}
