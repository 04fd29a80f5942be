// The StageQueue on NATS JetStream (DESIGN.md "Dispatch"): for `runlog server` (publishes)
// and `runlog runner` (pulls). Written for nats-server 2.9: one filter subject per consumer,
// the v3 consumers API (2.9.4+), nak with delay, working, term, message-id dedup.
//
// Layout: one stream (`RUNLOG_STAGES`) on `<prefix>.>` with work-queue retention, so an
// offer is kept until a consumer acks or terms it, and is removed then. Each pool has its
// own subject `<prefix>.<os>.<arch>.<pool-key>` and one durable pull consumer filtered on
// exactly that subject (`consumerName(pool)`), shared by every runner of the pool: the
// server hands each message to one of their pull requests. Work-queue streams refuse
// overlapping filters, which per-pool subjects never are.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type Consumer,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import {
  StageOffer,
  consumerName,
  messageId,
  poolSubject,
  poolsServedBy,
  runnerConsumerName,
  runnerSubject,
  subjectFor,
  type Delivery,
  type PoolSubscription,
  type RunnerProfile,
  type StageQueue,
} from './stage-queue.ts';

export type JetStreamQueueOptions = {
  /** NATS URLs; the queue connects (reconnecting forever) and closes the connection in `close`. */
  servers?: string | string[];
  /** A connection of the caller's instead; `close` leaves it open. */
  connection?: NatsConnection;
  stream?: string;
  /** Offers go to `<subjectPrefix>.<os>.<arch>.<pool-key>`; the stream takes `<subjectPrefix>.>`. */
  subjectPrefix?: string;
  /** How long a delivery may stay unsettled before it is delivered again. Default 30 s. */
  ackWaitMs?: number;
  /** How long the server remembers a message id (the stream's duplicate window). Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Unsettled deliveries a pool may have at once, over all its runners. Default 1024. */
  maxAckPending?: number;
  /**
   * How long one pull request waits on the server (at least 1 s). A waiting `next` renews
   * it; a `next` that ends (aborted, or beaten by another pool) leaves it to run out, and
   * `PoolSubscription.close` waits for that. Default 5 s.
   */
  pullExpiresMs?: number;
  /** How long one attempt of `publish` waits for the server's answer; it makes 3. Default 5 s. */
  publishTimeoutMs?: number;
};

const PUBLISH_ATTEMPTS = 3;

const nanos = (ms: number) => Math.round(ms * 1_000_000);

/** The reason every ended wait is aborted with: one shared value, since abort() without one builds a DOMException (and its stack) per call on the hot path. */
const WAIT_OVER = new Error('the wait is over');

export async function createJetStreamQueue(options: JetStreamQueueOptions): Promise<StageQueue> {
  const stream = options.stream ?? 'RUNLOG_STAGES';
  const prefix = options.subjectPrefix ?? 'runlog.stages';
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
  const maxAckPending = options.maxAckPending ?? 1024;
  const pullExpiresMs = Math.max(1000, options.pullExpiresMs ?? 5000);
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  if (!/^[^.*>\s]+(\.[^.*>\s]+)*$/.test(prefix)) throw new Error(`subjectPrefix must be a subject without wildcards, got '${prefix}'`);
  if (!options.connection && !options.servers) throw new Error('createJetStreamQueue needs servers or a connection');

  const owned = !options.connection;
  const nc =
    options.connection ??
    (await connect({ servers: options.servers, name: 'runlog-stage-queue', maxReconnectAttempts: -1, reconnectTimeWait: 250 }));
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, stream, prefix, duplicateWindowMs);
    return queueOn(nc, jsm, { stream, prefix, ackWaitMs, maxAckPending, pullExpiresMs, publishTimeoutMs, owned });
  } catch (error) {
    if (owned) await nc.close();
    throw error;
  }
}

/** Creates the stream, or checks that the one there is a work queue on our subjects (and fixes its duplicate window). */
async function ensureStream(jsm: JetStreamManager, name: string, prefix: string, duplicateWindowMs: number) {
  const subjects = [`${prefix}.>`];
  const existing = await jsm.streams.info(name).catch((error: unknown) => {
    if (error instanceof Error && error.name === 'StreamNotFoundError') return null;
    throw error;
  });
  if (!existing) {
    await jsm.streams.add({
      name,
      subjects,
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(duplicateWindowMs),
    });
    return;
  }
  const { config } = existing;
  if (config.retention !== RetentionPolicy.Workqueue || !config.subjects?.includes(subjects[0]!)) {
    throw new Error(`stream ${name} exists but is not a work queue on ${subjects[0]} (retention ${config.retention}, subjects ${config.subjects?.join(', ')})`);
  }
  if (config.duplicate_window !== nanos(duplicateWindowMs)) {
    await jsm.streams.update(name, { ...config, duplicate_window: nanos(duplicateWindowMs) });
  }
}

/** One durable consumer a subscription pulls from: a pool's, or a runner's own (routed offers). */
type Source = { name: string; subject: string; personal: boolean };

type Settings = { stream: string; prefix: string; ackWaitMs: number; maxAckPending: number; pullExpiresMs: number; publishTimeoutMs: number; owned: boolean };

function queueOn(nc: NatsConnection, jsm: JetStreamManager, settings: Settings): StageQueue {
  const { stream, prefix, ackWaitMs, maxAckPending, pullExpiresMs, publishTimeoutMs } = settings;
  const js = jetstream(nc);
  /** Consumers set up by this queue, by name: each pool's durable is created once per process. */
  const consumers = new Map<string, Promise<Consumer>>();
  const subscriptions = new Set<PoolSubscription>();
  let closed = false;

  /** The pool's durable consumer, created (or its ack wait and limits updated) if needed. */
  async function setUp(source: Source): Promise<Consumer> {
    const { name } = source;
    const config = {
      durable_name: name,
      filter_subject: source.subject,
      // A runner's own consumer goes away a day after its runner stopped asking.
      ...(source.personal ? { inactive_threshold: nanos(24 * 3600_000) } : {}),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: maxAckPending,
      max_deliver: -1,
    };
    try {
      await jsm.consumers.add(stream, config);
    } catch (error) {
      // It exists with other settings (another process configured it): take ours.
      await jsm.consumers.update(stream, name, { ack_wait: config.ack_wait, max_ack_pending: maxAckPending }).catch(() => {
        throw error;
      });
    }
    return js.consumers.get(stream, name);
  }

  function consumerFor(source: Source, again = false): Promise<Consumer> {
    const { name } = source;
    let consumer = consumers.get(name);
    if (!consumer || again) {
      const settingUp = setUp(source);
      consumers.set(name, settingUp);
      // A failed set-up is not cached: the next caller tries again.
      settingUp.catch(() => consumers.get(name) === settingUp && consumers.delete(name));
      consumer = settingUp;
    }
    return consumer;
  }

  /**
   * Keeps one pull request (batch of 1) open on the pool's consumer until `stop` aborts,
   * handing every message to `receive`. A request open when `stop` aborts is left to run
   * out rather than cancelled: the server may already be sending it a message, which would
   * then sit unseen for the ack wait; `receive` hands such late messages back at once.
   * Errors (server restarting, consumer deleted) are retried with backoff until `stop`.
   */
  async function pull(pool: Source, stop: AbortSignal, receive: (msg: JsMsg) => void): Promise<void> {
    let failures = 0;
    let consumer: Consumer | undefined;
    while (!stop.aborted && !nc.isClosed()) {
      try {
        consumer ??= await consumerFor(pool, failures > 0);
        if (stop.aborted) return;
        const started = performance.now();
        const batch = await consumer.fetch({ max_messages: 1, expires: pullExpiresMs });
        let got = false;
        for await (const msg of batch) {
          got = true;
          receive(msg);
        }
        failures = 0;
        // A request that ended at once, empty, was refused (e.g. too many waiting): don't spin.
        if (!got && performance.now() - started < pullExpiresMs / 2) await pause(100, stop);
      } catch {
        if (stop.aborted || nc.isClosed()) return;
        failures += 1;
        consumer = undefined;
        await pause(Math.min(50 * 2 ** failures, 2000), stop);
      }
    }
  }

  function delivery(msg: JsMsg, offer: StageOffer): Delivery {
    let settled = false;
    const settle = async (send: () => void) => {
      if (settled) return;
      settled = true;
      send();
      await nc.flush();
    };
    return {
      offer,
      deliveryCount: msg.info.deliveryCount,
      async ack() {
        if (settled) return;
        settled = true;
        await msg.ackAck();
      },
      nak: (delayMs) => settle(() => msg.nak(delayMs && delayMs > 0 ? delayMs : undefined)),
      term: () => settle(() => msg.term()),
      async working() {
        if (settled) return;
        msg.working();
        await nc.flush();
      },
    };
  }

  /** The offer a message carries, or null (and the message termed) when it is not one: it could never be claimed. */
  function offerOf(msg: JsMsg): StageOffer | null {
    try {
      const parsed = StageOffer.safeParse(msg.json());
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON
    }
    msg.term('not a StageOffer');
    return null;
  }

  async function pool(runner: RunnerProfile): Promise<PoolSubscription> {
    if (closed) throw new Error('the stage queue is closed');
    const pools: Source[] = poolsServedBy(runner).map((p) => ({ name: consumerName(p), subject: poolSubject(prefix, p), personal: false }));
    if (runner.id !== undefined) pools.push({ name: runnerConsumerName(runner.id), subject: runnerSubject(prefix, runner.id), personal: true });
    await Promise.all(pools.map((p) => consumerFor(p)));
    /** Aborted by `close`: ends every wait of this subscription. */
    const closing = new AbortController();
    /** Pull loops still running (waiting or running out). */
    const running = new Set<Promise<void>>();

    function next(signal: AbortSignal): Promise<Delivery | null> {
      if (closing.signal.aborted || signal.aborted) return Promise.resolve(null);
      return new Promise((resolve) => {
        // The one owner of this wait: aborted when it is settled, stops its pull loops.
        const wait = new AbortController();
        const settle = (result: Delivery | null): boolean => {
          if (wait.signal.aborted) return false;
          wait.abort(WAIT_OVER);
          signal.removeEventListener('abort', onAbort);
          closing.signal.removeEventListener('abort', onAbort);
          resolve(result);
          return true;
        };
        const onAbort = () => settle(null);
        signal.addEventListener('abort', onAbort, { once: true });
        closing.signal.addEventListener('abort', onAbort, { once: true });
        const receive = (msg: JsMsg) => {
          const offer = offerOf(msg);
          // Late (the wait is over, or another pool's pull won): hand it back for someone else.
          if (offer && !settle(delivery(msg, offer))) msg.nak();
        };
        for (const p of pools) {
          const loop = pull(p, wait.signal, receive);
          running.add(loop);
          void loop.finally(() => running.delete(loop));
        }
      });
    }

    const subscription: PoolSubscription = {
      pools: pools.map((p) => p.name),
      next,
      async close() {
        closing.abort();
        subscriptions.delete(subscription);
        await Promise.all(running);
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  return {
    async publish(input) {
      if (closed) throw new Error('the stage queue is closed');
      const offer = StageOffer.parse(input);
      const subject = subjectFor(offer, prefix);
      const body = JSON.stringify(offer);
      // A publish sent while the client reconnects, or just before the server's JetStream
      // is back, can go unanswered. Sending it again is safe (same message id, so at most
      // one is stored), though a retry whose first attempt was stored after all answers
      // duplicate: either way the offer is queued once. A refusal by the stream is final.
      for (let attempt = 1; ; attempt++) {
        try {
          const ack = await js.publish(subject, body, { msgID: messageId(offer), expect: { streamName: stream }, timeout: publishTimeoutMs, retries: 3 });
          return { duplicate: ack.duplicate };
        } catch (error) {
          if (attempt >= PUBLISH_ATTEMPTS || closed || nc.isClosed() || error instanceof JetStreamApiError) throw error;
          await pause(100 * attempt);
        }
      }
    },
    pool,
    async depth() {
      return (await jsm.streams.info(stream)).state.messages;
    },
    async close() {
      if (closed) return;
      closed = true;
      const closing = [...subscriptions].map((s) => s.close());
      if (settings.owned) {
        // Draining lets messages already sent to our pull requests arrive (and be handed
        // back) before the connection closes, so closing needs not wait for them to run out.
        await nc.drain();
      }
      await Promise.all(closing);
    },
  };
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
