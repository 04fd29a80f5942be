import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Cancel hints (DESIGN.md "Dispatch"): core NATS messages on `<cancelPrefix>.<buildId>`,
 * published by the API replica that appended `CancelRequested`, right after the append.
 * Not the leader following the log: the replica that took the request knows first, and a
 * second follower of the log would only add latency. A hint may be lost (no subscriber at
 * that moment, a server crash between append and publish): the event log stays the truth
 * and a runner learns the cancel at its next RPC anyway (its cancel poll, or a command the
 * decider refuses with `cancel_requested`). The hint only makes that check happen now.
 */
export function publishCancelHint(connection: NatsConnection, cancelPrefix: string, buildId: string): void {
  try {
    connection.publish(`${cancelPrefix}.${buildId}`);
  } catch {
    // A closed or reconnecting connection: the runners' poll still finds the cancel.
  }
}

/** Calls `onHint(buildId)` for every cancel hint of the installation until `close`. */
export function subscribeCancelHints(connection: NatsConnection, cancelPrefix: string, onHint: (buildId: string) => void): { close(): void } {
  const subscription = connection.subscribe(`${cancelPrefix}.*`, {
    callback: (error, message) => {
      if (!error) onHint(message.subject.slice(cancelPrefix.length + 1));
    },
  });
  return { close: () => subscription.unsubscribe() };
}
