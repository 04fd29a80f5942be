/**
 * One live client's queue: the shared followers `put` into it without waiting (a slow client
 * must never hold the others back), the client's own loop takes from it at its own pace.
 * Bounded: a client that falls `limit` items behind is closed with `overflowed` set; it
 * reconnects with its Last-Event-ID and catches up from the database instead.
 */
export interface Mailbox<T> extends AsyncIterable<T> {
  put(item: T): void;
  /** Ends the iteration once what is queued has been taken (`reason` says why, for the caller). */
  close(reason?: string): void;
  readonly closed: boolean;
  readonly reason: string | undefined;
}

export function createMailbox<T>(limit = 10_000): Mailbox<T> {
  const items: T[] = [];
  let head = 0;
  let closed = false;
  let reason: string | undefined;
  let wake: (() => void) | undefined;

  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };

  return {
    put(item) {
      if (closed) return;
      if (items.length - head >= limit) {
        closed = true;
        reason = 'overflowed';
        items.length = 0;
        head = 0;
      } else {
        items.push(item);
      }
      notify();
    },
    close(why = 'closed') {
      if (closed) return;
      closed = true;
      reason = why;
      notify();
    },
    get closed() {
      return closed;
    },
    get reason() {
      return reason;
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        if (head < items.length) {
          const item = items[head]!;
          head += 1;
          if (head > 1024 && head * 2 > items.length) {
            items.splice(0, head);
            head = 0;
          }
          yield item;
          continue;
        }
        if (closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
