// The StageQueue port: how a queued stage reaches a runner that may run it (DESIGN.md
// "Dispatch"). Two adapters: jetstream-queue.ts (NATS JetStream, for `runlog server` and
// `runlog runner`) and memory-queue.ts (in-process, for `runlog serve`); one contract suite
// (test/dispatch/stage-queue.contract.ts) runs against both.
//
// This module also holds the pure half: the wire format of an offer, the pool an offer
// belongs to, the pools a runner serves, and how both are spelled as NATS subjects.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { labelsKey } from '../projections/labels-key.ts';

/** What the dispatcher hands out: one attempt of one stage. The JSON body of every queue message. */
export const StageOffer = z.object({
  buildId: z.string().min(1),
  /** The stage's number in its build's plan. */
  stage: z.number().int().positive(),
  /** The attempt the dispatcher publishes; a runner's claim names it, so a stale one is refused. */
  attempt: z.number().int().positive(),
  repoId: z.string().min(1),
  platform: z.object({
    os: z.string().min(1),
    arch: z.string().min(1),
    /** '' = any variant (Drone: the stage's variant must match only when it sets one). */
    variant: z.string().default(''),
    /** '' = any kernel, as for variant. */
    kernel: z.string().default(''),
  }),
  /** The stage's `node:` labels: a runner must have exactly these (Drone's checkLabels). */
  labels: z.record(z.string(), z.string()).default({}),
  /** The engine the stage needs: a runner takes only stages of its own engine. */
  type: z.enum(['docker', 'exec']),
  /**
   * Only for the runner with this id (a restart whose workspace that runner keeps): the offer
   * waits in the runner's own queue, not its pool's. If the runner does not take it, the
   * dispatcher requeues the stage as a new attempt without a route.
   */
  route: z.object({ runner: z.string().min(1) }).optional(),
});
export type StageOffer = z.infer<typeof StageOffer>;

/** What a runner is, as far as matching goes: its platform, its node labels and its engine. */
export type RunnerProfile = {
  /** The runner's id: with it, the runner also takes the offers routed to it (`StageOffer.route`). */
  id?: string;
  platform: { os: string; arch: string; variant?: string; kernel?: string };
  labels: Readonly<Record<string, string>>;
  type: 'docker' | 'exec';
};

/**
 * One pool: the stages whose platform, labels and engine are exactly these. Every offer
 * belongs to one pool; a runner serves one to four (see `poolsServedBy`).
 */
export type Pool = {
  os: string;
  arch: string;
  variant: string;
  kernel: string;
  labels: Readonly<Record<string, string>>;
  type: 'docker' | 'exec';
};

/**
 * An offer handed to one consumer. Until it is settled (ack, nak or term) the offer is
 * hidden from every other consumer for the ack wait; then it is delivered again, to
 * whichever consumer of its pool asks first, with `deliveryCount` + 1.
 *
 * Settling is idempotent: after the first ack, nak or term, later calls do nothing. Settling
 * a delivery whose ack wait already lapsed is best effort (ack and term still remove the
 * offer if it is there; it may already be with another runner): the claim recorded in
 * Postgres, not the queue, decides who runs a stage.
 */
export type Delivery = {
  readonly offer: StageOffer;
  /** 1 on first delivery, +1 each time it comes back (ack wait lapsed, nak). */
  readonly deliveryCount: number;
  /** The claim is recorded: never deliver this offer again. Resolves once the queue confirmed it. */
  ack(): Promise<void>;
  /** Hand it back (the claim was refused for a reason that may pass): deliver again after `delayMs` (default at once). */
  nak(delayMs?: number): Promise<void>;
  /** Never deliver it again (the claim was refused for good, e.g. a stale attempt). */
  term(): Promise<void>;
  /** Still claiming: restart this delivery's ack wait. */
  working(): Promise<void>;
};

/**
 * A runner's subscription to the pools it serves. Call `next` once per free slot (a runner
 * of capacity N keeps at most N calls waiting): each resolves with one delivery, or with
 * null when `signal` aborts or the subscription closes. Offers of one pool come oldest
 * first. Several subscriptions of one pool (runners with the same profile, in this process
 * or others) share its offers: each delivery goes to exactly one of them.
 */
export type PoolSubscription = {
  /** The keys of the pools this subscription draws from (for logs and stats). */
  readonly pools: readonly string[];
  next(signal: AbortSignal): Promise<Delivery | null>;
  /**
   * Waiting `next` calls resolve null, later ones at once. Deliveries already handed out
   * stay valid (settle them). Resolves when nothing of this subscription is in flight.
   */
  close(): Promise<void>;
};

/**
 * Where queued stages wait for runners.
 *
 * Lifecycle: create (the adapter sets up what it needs), `publish` from the dispatcher,
 * `pool` from runners, `close` once at shutdown (waiting `next` calls resolve null, the
 * connection is drained). All methods may be called concurrently.
 *
 * Delivery: at least once. An offer is kept until a delivery of it is acked or termed; an
 * unsettled delivery comes back after the ack wait, so a runner that dies while claiming
 * loses nothing. The ack wait covers only the claim: once the claim is recorded the runner
 * acks, and from then on the stage's lease (Postgres, heartbeats) is what says whether its
 * runner lives. A stage that must run again is a new attempt, published with a new id.
 *
 * Idempotence: `publish` is keyed by `messageId(offer)` (`<buildId>:<stage>:<attempt>`):
 * publishing the same attempt again within the duplicate window stores nothing and
 * resolves `{ duplicate: true }`, so the dispatcher may re-publish freely after a crash or
 * a timeout.
 *
 * Matching is Drone's (`matches`), done once by the pool key: an offer only ever reaches a
 * subscription whose runner it matches.
 */
export type StageQueue = {
  publish(offer: StageOffer): Promise<{ duplicate: boolean }>;
  /** Subscribes a runner to every pool it serves (`poolsServedBy`). */
  pool(runner: RunnerProfile): Promise<PoolSubscription>;
  /** Offers published and not yet acked or termed, in every pool (stats only). */
  depth(): Promise<number>;
  close(): Promise<void>;
};

/** The queue's idempotence key for an offer. */
export const messageId = (offer: Pick<StageOffer, 'buildId' | 'stage' | 'attempt'>): string => `${offer.buildId}:${offer.stage}:${offer.attempt}`;

/**
 * Drone's match of a queued stage and a runner (scheduler/queue/queue.go): same engine, same
 * os and arch, the stage's variant and kernel when it sets them, and the node labels equal
 * (same keys, same values). The pool encoding below must agree with this predicate; the
 * unit tests check that it does. Unlike Drone, a runner always has an os and arch.
 */
export function matches(offer: StageOffer, runner: RunnerProfile): boolean {
  const { os, arch, variant = '', kernel = '' } = runner.platform;
  if (offer.type !== runner.type || offer.platform.os !== os || offer.platform.arch !== arch) return false;
  if (offer.platform.variant !== '' && offer.platform.variant !== variant) return false;
  if (offer.platform.kernel !== '' && offer.platform.kernel !== kernel) return false;
  const mine = Object.entries(offer.labels);
  const theirs = Object.keys(runner.labels);
  return mine.length === theirs.length && mine.every(([key, value]) => Object.hasOwn(runner.labels, key) && runner.labels[key] === value);
}

/** The one pool an offer belongs to. */
export const poolOf = (offer: StageOffer): Pool => ({ ...offer.platform, labels: offer.labels, type: offer.type });

/**
 * The pools whose offers a runner may run. A stage that leaves variant or kernel unset
 * matches any runner (Drone), so a runner with a variant serves both the pool of stages
 * asking for its variant and the pool of stages asking for none; the same for kernel.
 * Hence one pool for most runners, at most four.
 */
export function poolsServedBy(runner: RunnerProfile): Pool[] {
  const { os, arch, variant = '', kernel = '' } = runner.platform;
  if (os === '' || arch === '') throw new Error(`a runner needs an os and an arch, got os '${os}' and arch '${arch}'`);
  const variants = variant === '' ? [''] : [variant, ''];
  const kernels = kernel === '' ? [''] : [kernel, ''];
  return variants.flatMap((v) => kernels.map((k) => ({ os, arch, variant: v, kernel: k, labels: runner.labels, type: runner.type })));
}

/**
 * Spells any string as one NATS subject token (also usable in consumer names), injectively:
 * a string of ASCII letters, digits and '-' that starts with a letter or digit stays as it
 * is (`linux`, `amd64`, `v7`, `ltsc2022`); '' is `-`; anything else (dots, spaces, '_', '*',
 * non-ASCII) is `~` and the hex of its UTF-8 bytes (`1.2` → `~312e32`). None of the three
 * forms can be mistaken for another, and no form contains '.', '_', wildcards or whitespace.
 */
export function subjectToken(value: string): string {
  if (value === '') return '-';
  if (/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(value)) return value;
  return `~${Buffer.from(value, 'utf8').toString('hex')}`;
}

/**
 * What makes a pool besides os and arch, as one subject token:
 * `<type>_<variant>_<kernel>_<labels-key>`, each part a `subjectToken` (labels-key is
 * `labelsKey`, hex or 'any'). Examples: `docker_-_-_any`, `exec_v7_-_3f0c9a1b2d4e`.
 * Stable across versions: durable consumers and queued messages are named with it.
 */
export const poolKey = (pool: Omit<Pool, 'os' | 'arch'>): string =>
  [pool.type, subjectToken(pool.variant), subjectToken(pool.kernel), labelsKey(pool.labels)].join('_');

/** `<prefix>.<os>.<arch>.<pool-key>`: the subject of a pool's offers. */
export const poolSubject = (prefix: string, pool: Pool): string => `${prefix}.${subjectToken(pool.os)}.${subjectToken(pool.arch)}.${poolKey(pool)}`;

/**
 * `<prefix>.runner.<runner-id>`: the offers routed to one runner. Two tokens after the
 * prefix, so never equal to a pool's three-token subject (work-queue consumers must not overlap).
 */
export const runnerSubject = (prefix: string, runnerId: string): string => `${prefix}.runner.${subjectToken(runnerId)}`;

/** The durable consumer of one runner's routed offers (`runner_<id>`, hashed when overlong). */
export function runnerConsumerName(runnerId: string): string {
  const name = `runner_${subjectToken(runnerId)}`;
  return name.length <= 120 ? name : `runner_${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

/** The subject an offer is published on: its runner's when routed, else its pool's. */
export const subjectFor = (offer: StageOffer, prefix = 'runlog.stages'): string =>
  offer.route ? runnerSubject(prefix, offer.route.runner) : poolSubject(prefix, poolOf(offer));

/** The queue (consumer) an offer waits in: its runner's when routed, else its pool's. */
export const queueNameOf = (offer: StageOffer): string => (offer.route ? runnerConsumerName(offer.route.runner) : consumerName(poolOf(offer)));

/**
 * The durable consumer of a pool: `<os>_<arch>_<pool-key>`, unique per pool since no token
 * contains '_'. Overlong names (only with absurd platform strings) become a hash, so every
 * pool has a name the server accepts.
 */
export function consumerName(pool: Pool): string {
  const name = `${subjectToken(pool.os)}_${subjectToken(pool.arch)}_${poolKey(pool)}`;
  return name.length <= 120 ? name : `pool_${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}
