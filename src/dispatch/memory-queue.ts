// The in-process StageQueue of the embedded mode (`runlog serve`): the same semantics as the
// JetStream adapter, in one process's memory. Nothing survives the process; after a restart
// the dispatcher re-publishes from the `queue` view, as it would after losing NATS.
import {
  StageOffer,
  consumerName,
  messageId,
  poolsServedBy,
  queueNameOf,
  runnerConsumerName,
  type Delivery,
  type PoolSubscription,
  type RunnerProfile,
  type StageQueue,
} from './stage-queue.ts';

export type MemoryQueueOptions = {
  /** How long a delivery may stay unsettled before the offer is delivered again. Default 30 s. */
  ackWaitMs?: number;
  /** How long a message id is remembered for `publish`'s idempotence. Default 2 minutes. */
  duplicateWindowMs?: number;
};

/** One stored offer. `generation` names its current delivery, so a stale delivery's nak or timer does nothing. */
type Message = {
  readonly seq: number;
  readonly id: string;
  /** Its pool's name (`consumerName`, as the JetStream adapter names its consumers). */
  readonly pool: string;
  readonly offer: StageOffer;
  deliveries: number;
  generation: number;
  /** The ack-wait or nak-delay timer, whichever runs. */
  timer?: ReturnType<typeof setTimeout>;
};

/** A waiting `next` call: the pools it draws from, and how to hand it a message or nothing. */
type Waiter = {
  readonly pools: ReadonlySet<string>;
  readonly settle: (message: Message | null) => void;
};

export function createMemoryQueue(options: MemoryQueueOptions = {}): StageQueue {
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
  /** Every offer not yet acked or termed, by id. */
  const stored = new Map<string, Message>();
  /** Per pool, the messages ready for delivery, oldest (lowest seq) first. */
  const ready = new Map<string, Message[]>();
  /** Waiting `next` calls, first come first served. */
  const waiters: Waiter[] = [];
  /** id → when it leaves the duplicate window; insertion order is expiry order. */
  const seen = new Map<string, number>();
  let seq = 0;
  let closed = false;

  function forget(now: number) {
    for (const [id, until] of seen) {
      if (until > now) break;
      seen.delete(id);
    }
  }

  /** Gives a message to the first waiter of its pool, or shelves it in seq order. */
  function makeReady(message: Message) {
    clearTimeout(message.timer);
    message.timer = undefined;
    const at = waiters.findIndex((waiter) => waiter.pools.has(message.pool));
    if (at >= 0) {
      const [waiter] = waiters.splice(at, 1);
      waiter!.settle(message);
      return;
    }
    const shelf = ready.get(message.pool) ?? [];
    let index = shelf.length;
    while (index > 0 && shelf[index - 1]!.seq > message.seq) index--;
    shelf.splice(index, 0, message);
    ready.set(message.pool, shelf);
  }

  /** The oldest ready message of these pools, taken off its shelf. */
  function take(pools: ReadonlySet<string>): Message | undefined {
    let best: Message[] | undefined;
    for (const pool of pools) {
      const shelf = ready.get(pool);
      if (shelf?.length && (!best || shelf[0]!.seq < best[0]!.seq)) best = shelf;
    }
    return best?.shift();
  }

  function remove(message: Message) {
    clearTimeout(message.timer);
    message.timer = undefined;
    stored.delete(message.id);
    const shelf = ready.get(message.pool);
    const at = shelf?.indexOf(message) ?? -1;
    if (at >= 0) shelf!.splice(at, 1);
  }

  function armAckWait(message: Message) {
    clearTimeout(message.timer);
    const generation = message.generation;
    message.timer = setTimeout(() => {
      if (message.generation === generation && stored.get(message.id) === message) makeReady(message);
    }, ackWaitMs);
  }

  /** Hands a message out: a new generation, a running ack wait. */
  function deliver(message: Message): Delivery {
    message.deliveries += 1;
    message.generation += 1;
    const generation = message.generation;
    armAckWait(message);
    let settled = false;
    // Is this still the message's live delivery (not settled, ack wait not lapsed, not removed)?
    const current = () => !settled && message.generation === generation && stored.get(message.id) === message;
    return {
      offer: message.offer,
      deliveryCount: message.deliveries,
      async ack() {
        // Like JetStream, an ack (or term) from a lapsed delivery still removes the offer.
        if (!settled && stored.get(message.id) === message) remove(message);
        settled = true;
      },
      async term() {
        if (!settled && stored.get(message.id) === message) remove(message);
        settled = true;
      },
      async nak(delayMs = 0) {
        if (!current()) return;
        settled = true;
        message.generation += 1;
        clearTimeout(message.timer);
        if (delayMs > 0) message.timer = setTimeout(() => makeReady(message), delayMs);
        else makeReady(message);
      },
      async working() {
        if (current()) armAckWait(message);
      },
    };
  }

  async function publish(input: StageOffer): Promise<{ duplicate: boolean }> {
    if (closed) throw new Error('the stage queue is closed');
    const offer = StageOffer.parse(input);
    const id = messageId(offer);
    const now = performance.now();
    forget(now);
    if (seen.has(id)) return { duplicate: true };
    seen.set(id, now + duplicateWindowMs);
    const message: Message = { seq: ++seq, id, pool: queueNameOf(offer), offer, deliveries: 0, generation: 0 };
    stored.set(id, message);
    makeReady(message);
    return { duplicate: false };
  }

  async function pool(runner: RunnerProfile): Promise<PoolSubscription> {
    const pools = new Set(poolsServedBy(runner).map(consumerName));
    if (runner.id !== undefined) pools.add(runnerConsumerName(runner.id));
    const mine = new Set<Waiter>();
    let unsubscribed = false;

    function next(signal: AbortSignal): Promise<Delivery | null> {
      if (closed || unsubscribed || signal.aborted) return Promise.resolve(null);
      const message = take(pools);
      if (message) return Promise.resolve(deliver(message));
      return new Promise((resolve) => {
        const waiter: Waiter = {
          pools,
          settle(message) {
            signal.removeEventListener('abort', onAbort);
            mine.delete(waiter);
            resolve(message ? deliver(message) : null);
          },
        };
        const onAbort = () => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
          waiter.settle(null);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
        mine.add(waiter);
      });
    }

    return {
      pools: [...pools],
      next,
      async close() {
        unsubscribed = true;
        for (const waiter of [...mine]) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.settle(null);
        }
      },
    };
  }

  return {
    publish,
    pool,
    async depth() {
      return stored.size;
    },
    async close() {
      closed = true;
      for (const waiter of waiters.splice(0)) waiter.settle(null);
      for (const message of stored.values()) clearTimeout(message.timer);
      stored.clear();
      ready.clear();
    },
  };
}
