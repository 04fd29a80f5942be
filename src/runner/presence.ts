import type { RunnerReportInput } from '../rpc/protocol.ts';

/**
 * A runner telling the server what it is and holds (`GET /api/runners`; the restart route
 * looks up kept workspaces there): `send` the report now, then every `everyMs` (default
 * 10 s), and soon after each `poke` (a stage started or ended). A failed send is logged
 * and tried again at the next tick: the report is a hint, the event log is the truth.
 */
export function startPresence(options: {
  describe: () => RunnerReportInput;
  send: (report: RunnerReportInput) => Promise<void>;
  signal: AbortSignal;
  everyMs?: number;
  log?: (message: string) => void;
}): { poke(): void; done: Promise<void> } {
  const everyMs = options.everyMs ?? 10_000;
  let wake: (() => void) | undefined;
  let poked = false;
  let failing = false;
  const done = (async () => {
    while (!options.signal.aborted) {
      poked = false;
      try {
        await options.send(options.describe());
        failing = false;
      } catch (error) {
        if (!failing) options.log?.(`runlog runner: report to the server failed: ${error instanceof Error ? error.message : String(error)}; trying again`);
        failing = true;
      }
      if (poked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, everyMs);
        function finish() {
          clearTimeout(timer);
          options.signal.removeEventListener('abort', finish);
          wake = undefined;
          resolve();
        }
        wake = finish;
        options.signal.addEventListener('abort', finish, { once: true });
      });
    }
  })();
  return {
    poke() {
      poked = true;
      wake?.();
    },
    done,
  };
}
