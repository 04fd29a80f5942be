// The StageQueue contract: one suite, run against every adapter (memory-queue.unit.test.ts,
// jetstream-queue.int.test.ts). Each test opens a backend of its own (a fresh in-process
// queue, or a JetStream stream and subject prefix no other test uses) and disposes of it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Delivery, PoolSubscription, RunnerProfile, StageOffer, StageQueue } from '../../src/dispatch/stage-queue.ts';

export type QueueBackend = {
  readonly queue: StageQueue;
  /** Another handle on the same queue, as a second runner process would have one. */
  peer(): Promise<StageQueue>;
  /** Closes every handle and removes what the backend made. */
  dispose(): Promise<void>;
};

export type OpenBackend = (options: { ackWaitMs: number }) => Promise<QueueBackend>;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `sub.next`, given up after `ms` (a timer of its own, cleared either way). */
export async function nextWithin(sub: PoolSubscription, ms: number): Promise<Delivery | null> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await sub.next(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

export const linuxRunner: RunnerProfile = { platform: { os: 'linux', arch: 'amd64' }, labels: {}, type: 'docker' };

export function stageOffer(overrides: Partial<StageOffer> = {}): StageOffer {
  return {
    buildId: randomUUID(),
    stage: 1,
    attempt: 1,
    repoId: 'repo-1',
    platform: { os: 'linux', arch: 'amd64', variant: '', kernel: '' },
    labels: {},
    type: 'docker',
    ...overrides,
  };
}

const idOf = (offer: StageOffer) => `${offer.buildId}:${offer.stage}:${offer.attempt}`;

async function using(open: OpenBackend, ackWaitMs: number, work: (backend: QueueBackend) => Promise<void>): Promise<void> {
  const backend = await open({ ackWaitMs });
  try {
    await work(backend);
  } finally {
    await backend.dispose();
  }
}

/**
 * `ackWaitMs`: the ack wait the suite configures; the redelivery tests wait a little more
 * than it, so keep it short (≈1 s for a real server).
 */
export function stageQueueContract(open: OpenBackend, ackWaitMs: number): void {
  const quiet = Math.max(300, ackWaitMs / 2);

  it('delivers an offer published before the runner came, then wakes a waiting runner on publish', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      // Given an offer published while no runner of its pool exists
      const early = stageOffer({ stage: 2 });
      assert.deepEqual(await queue.publish(early), { duplicate: false });

      // When a runner subscribes, it gets it, whole
      const sub = await queue.pool(linuxRunner);
      const first = await nextWithin(sub, 5000);
      assert.deepEqual(first?.offer, early);
      assert.equal(first?.deliveryCount, 1);
      await first!.ack();

      // And a runner already waiting is woken by the next publish
      const waiting = nextWithin(sub, 5000);
      await sleep(50);
      const late = stageOffer({ labels: {}, stage: 3 });
      await queue.publish(late);
      const second = await waiting;
      assert.deepEqual(second?.offer, late);
      await second!.ack();
      assert.equal(await queue.depth(), 0);
    }));

  it('hands out the offers of one pool oldest first', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      const offers = Array.from({ length: 5 }, (_, index) => stageOffer({ stage: index + 1 }));
      for (const offer of offers) await queue.publish(offer);
      const sub = await queue.pool(linuxRunner);
      const got: number[] = [];
      for (let index = 0; index < offers.length; index++) {
        const delivery = await nextWithin(sub, 5000);
        got.push(delivery!.offer.stage);
        await delivery!.ack();
      }
      assert.deepEqual(got, [1, 2, 3, 4, 5]);
    }));

  it('does not double an offer published twice with the same build, stage and attempt', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      const offer = stageOffer();
      assert.deepEqual(await queue.publish(offer), { duplicate: false });
      assert.deepEqual(await queue.publish({ ...offer }), { duplicate: true });
      assert.equal(await queue.depth(), 1);

      const sub = await queue.pool(linuxRunner);
      const delivery = await nextWithin(sub, 5000);
      await delivery!.ack();
      assert.equal(await nextWithin(sub, quiet), null, 'delivered once');

      // Within the duplicate window even an acked attempt stays published once; a new attempt is new.
      assert.deepEqual(await queue.publish(offer), { duplicate: true });
      assert.deepEqual(await queue.publish({ ...offer, attempt: 2 }), { duplicate: false });
      const retry = await nextWithin(sub, 5000);
      assert.equal(retry?.offer.attempt, 2);
      await retry!.ack();
    }));

  it("sends an offer only to runners it matches by Drone's rules", () =>
    using(open, ackWaitMs, async ({ queue }) => {
      // Given a runner on linux/arm v7 with labels {zone: a, gpu: yes}
      const runner: RunnerProfile = { platform: { os: 'linux', arch: 'arm', variant: 'v7' }, labels: { zone: 'a', gpu: 'yes' }, type: 'docker' };
      const platform = { os: 'linux', arch: 'arm', variant: 'v7', kernel: '' };
      const labels = { gpu: 'yes', zone: 'a' };
      const exact = stageOffer({ platform, labels, stage: 1 });
      const anyVariant = stageOffer({ platform: { ...platform, variant: '' }, labels, stage: 2 });
      const others = {
        os: stageOffer({ platform: { ...platform, os: 'windows' }, labels }),
        arch: stageOffer({ platform: { ...platform, arch: 'arm64' }, labels }),
        variant: stageOffer({ platform: { ...platform, variant: 'v6' }, labels }),
        kernel: stageOffer({ platform: { ...platform, kernel: '1809' }, labels }),
        subset: stageOffer({ platform, labels: { zone: 'a' } }),
        superset: stageOffer({ platform, labels: { ...labels, disk: 'ssd' } }),
        value: stageOffer({ platform, labels: { ...labels, zone: 'b' } }),
        none: stageOffer({ platform, labels: {} }),
        engine: stageOffer({ platform, labels, type: 'exec' }),
      };
      for (const offer of Object.values(others)) await queue.publish(offer);
      await queue.publish(exact);
      await queue.publish(anyVariant);

      // When it asks for work, then it gets the exact match and the stage that asks for no variant, and nothing else
      const sub = await queue.pool(runner);
      const got: string[] = [];
      for (let delivery = await nextWithin(sub, 3000); delivery; delivery = await nextWithin(sub, quiet)) {
        got.push(idOf(delivery.offer));
        await delivery.ack();
      }
      assert.deepEqual(got.sort(), [idOf(exact), idOf(anyVariant)].sort());

      // And the others wait for their own runners: one with exactly the subset's labels takes the subset
      assert.equal(await queue.depth(), Object.keys(others).length);
      const subsetRunner = await queue.pool({ ...runner, labels: { zone: 'a' } });
      const subset = await nextWithin(subsetRunner, 3000);
      assert.equal(subset && idOf(subset.offer), idOf(others.subset));
      await subset!.ack();
      assert.equal(await nextWithin(subsetRunner, quiet), null);
    }));

  it('shares one pool between two runners: each offer goes to one of them', () =>
    using(open, ackWaitMs, async ({ queue, peer }) => {
      const other = await peer();
      const offers = Array.from({ length: 20 }, (_, index) => stageOffer({ stage: index + 1 }));
      const subs = [await queue.pool(linuxRunner), await other.pool(linuxRunner)];
      const got = subs.map(() => [] as string[]);
      let left = offers.length;
      const publishing = (async () => {
        for (const offer of offers) await queue.publish(offer);
      })();
      // Each runner holds its delivery a moment before acking, as a claim would, so the other must take the next.
      await Promise.all(
        subs.map(async (sub, index) => {
          while (left > 0) {
            const delivery = await nextWithin(sub, quiet);
            if (!delivery) continue;
            left -= 1;
            got[index]!.push(idOf(delivery.offer));
            await sleep(5);
            await delivery.ack();
          }
        }),
      );
      await publishing;
      assert.deepEqual([...got[0]!, ...got[1]!].sort(), offers.map(idOf).sort(), 'every offer exactly once');
      assert.ok(got[0]!.length > 0 && got[1]!.length > 0, `both runners took work (${got[0]!.length} + ${got[1]!.length})`);
      // Nothing comes back later either
      await sleep(ackWaitMs + 200);
      assert.equal(await nextWithin(subs[0]!, 100), null);
      assert.equal(await queue.depth(), 0);
    }));

  it('delivers an unsettled offer again after the ack wait, with a higher delivery count', () =>
    using(open, ackWaitMs, async ({ queue, peer }) => {
      const offer = stageOffer();
      await queue.publish(offer);
      const first = await nextWithin(await queue.pool(linuxRunner), 5000);
      assert.equal(first?.deliveryCount, 1);
      const handedAt = performance.now();

      // The runner holding it dies without a word; another runner waits
      const other = await (await peer()).pool(linuxRunner);
      const again = await nextWithin(other, ackWaitMs * 4);
      const after = performance.now() - handedAt;
      assert.deepEqual(again?.offer, offer);
      assert.equal(again?.deliveryCount, 2);
      assert.ok(after >= ackWaitMs * 0.8, `redelivered after ${Math.round(after)} ms, the ack wait is ${ackWaitMs} ms`);
      await again!.ack();
      // The dead runner's late ack changes nothing
      await first!.ack().catch(() => {});
      assert.equal(await queue.depth(), 0);
    }));

  it('keeps a delivery from coming back while the runner says it is still working', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      await queue.publish(stageOffer());
      const sub = await queue.pool(linuxRunner);
      const delivery = await nextWithin(sub, 5000);
      const other = await queue.pool(linuxRunner);
      const watching = nextWithin(other, ackWaitMs * 2);
      for (let elapsed = 0; elapsed < ackWaitMs * 2; elapsed += ackWaitMs / 4) {
        await delivery!.working();
        await sleep(ackWaitMs / 4);
      }
      assert.equal(await watching, null, 'not redelivered during 2 ack waits of working()');
      await delivery!.ack();
    }));

  it('never delivers an acked offer again', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      await queue.publish(stageOffer());
      const sub = await queue.pool(linuxRunner);
      const delivery = await nextWithin(sub, 5000);
      await delivery!.ack();
      await delivery!.nak(); // settling twice does nothing
      assert.equal(await nextWithin(sub, ackWaitMs + quiet), null);
      assert.equal(await queue.depth(), 0);
    }));

  it('hands a nak-ed offer back: later with a delay, at once without', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      const a = stageOffer({ stage: 1 });
      const b = stageOffer({ stage: 2 });
      await queue.publish(a);
      await queue.publish(b);
      const sub = await queue.pool(linuxRunner);
      const first = await nextWithin(sub, 5000);
      assert.equal(first?.offer.stage, 1);

      // nak with a delay: the next offer comes first, the nak-ed one after the delay
      const delay = Math.round(ackWaitMs / 2);
      const nakedAt = performance.now();
      await first!.nak(delay);
      const second = await nextWithin(sub, 5000);
      assert.equal(second?.offer.stage, 2);
      await second!.ack();
      const back = await nextWithin(sub, 5000);
      assert.equal(back?.offer.stage, 1);
      assert.equal(back?.deliveryCount, 2);
      assert.ok(performance.now() - nakedAt >= delay * 0.8, `back after ${Math.round(performance.now() - nakedAt)} ms, the delay was ${delay} ms`);

      // nak without a delay: straight back
      const nakedAgainAt = performance.now();
      await back!.nak();
      const third = await nextWithin(sub, 5000);
      assert.equal(third?.offer.stage, 1);
      assert.equal(third?.deliveryCount, 3);
      assert.ok(performance.now() - nakedAgainAt < ackWaitMs / 2, 'not held for the ack wait');
      await third!.ack();
    }));

  it('never delivers a termed offer again', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      await queue.publish(stageOffer());
      const sub = await queue.pool(linuxRunner);
      const delivery = await nextWithin(sub, 5000);
      await delivery!.term();
      assert.equal(await nextWithin(sub, ackWaitMs + quiet), null);
      assert.equal(await queue.depth(), 0);
    }));

  it('returns null promptly for an aborted wait, and loses no offer to it', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      const sub = await queue.pool(linuxRunner);
      // Already aborted: null at once
      const started = performance.now();
      assert.equal(await sub.next(AbortSignal.abort()), null);
      // Aborted while waiting: null promptly
      const controller = new AbortController();
      const waiting = sub.next(controller.signal);
      await sleep(100);
      const abortedAt = performance.now();
      controller.abort();
      assert.equal(await waiting, null);
      assert.ok(performance.now() - abortedAt < 250, `resolved ${Math.round(performance.now() - abortedAt)} ms after abort`);
      assert.ok(performance.now() - started < 1000);

      // An offer published right after goes to the next waiter at once, not after the ack wait
      const offer = stageOffer();
      await queue.publish(offer);
      const delivery = await nextWithin(sub, ackWaitMs / 2);
      assert.deepEqual(delivery?.offer, offer);
      await delivery!.ack();
    }));

  it('stops delivering to a closed subscription, and to a closed queue', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      const sub = await queue.pool(linuxRunner);
      const waiting = nextWithin(sub, 10_000);
      await sleep(50);
      const closing = sub.close();
      assert.equal(await waiting, null);
      await closing;
      assert.equal(await nextWithin(sub, 1000), null, 'next after close');

      // An offer published now goes to a runner still subscribed, promptly
      const offer = stageOffer();
      await queue.publish(offer);
      const open2 = await queue.pool(linuxRunner);
      const delivery = await nextWithin(open2, ackWaitMs / 2);
      assert.deepEqual(delivery?.offer, offer);
      await delivery!.ack();

      // Closing the queue ends waits and refuses publishes
      const stillWaiting = nextWithin(open2, 10_000);
      await sleep(50);
      await queue.close();
      assert.equal(await stillWaiting, null);
      await assert.rejects(queue.publish(stageOffer()), /closed/);
    }));

  it('hands a routed offer only to the runner it names, alongside its pool', () =>
    using(open, ackWaitMs, async ({ queue, peer }) => {
      // Given two runners of one pool, only the second with the id the offer is routed to
      const runnerId = `runner:${randomUUID()}`;
      const other = await queue.pool({ ...linuxRunner, id: `runner:${randomUUID()}` });
      const holder = await (await peer()).pool({ ...linuxRunner, id: runnerId });
      const routed = stageOffer({ route: { runner: runnerId } });
      await queue.publish(routed);

      // When the other runner asks, it gets nothing; the holder gets the offer
      assert.equal(await nextWithin(other, quiet), null, 'a routed offer stays out of the pool');
      const got = await nextWithin(holder, 5000);
      assert.deepEqual(got?.offer, routed);
      await got!.ack();

      // And the holder still takes the pool's offers
      const plain = stageOffer({ stage: 2 });
      await queue.publish(plain);
      const fromPool = await nextWithin(holder, 5000);
      assert.deepEqual(fromPool?.offer, plain);
      await fromPool!.ack();
    }));

  it('refuses an offer that is not a StageOffer', () =>
    using(open, ackWaitMs, async ({ queue }) => {
      await assert.rejects(queue.publish({ ...stageOffer(), attempt: 0 }));
      await assert.rejects(queue.publish({ ...stageOffer(), type: 'ssh' } as unknown as StageOffer));
      assert.equal(await queue.depth(), 0);
    }));
}
