/**
 * Dispatch latency through the JetStream StageQueue next to bare JetStream, same client,
 * same connection, same server, rounds interleaved so both see the same machine load.
 *
 * One round: a runner is already waiting (`next()` issued, its pull request flushed to the
 * server); the clock runs from the publish call until `next()` resolves with the offer (so
 * it includes the publish's PubAck round trip, on both sides). The queue adds the offer's
 * zod schema both ways, the pool subject, and its pull loop; bare JetStream is
 * `js.publish` with a message id and `consumer.next()` on a filtered durable consumer.
 *
 * Measured twice: with empty streams, and with 10,000 messages already waiting in other
 * pools (other subjects of the same stream: 50 pools for the queue, 50 subjects for bare).
 * Figures: p50/p99 of each, queue/bare, and with-backlog/empty (goal ≤ 1.5: a runner's
 * wait must not grow with the work waiting for other runners, unlike Drone's re-scan of
 * every unfinished stage on each poll).
 *   BENCH_OFFERS (default 1000), BENCH_BACKLOG (default 10000), RUNLOG_TEST_NATS_URL
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createJetStreamQueue } from '../src/dispatch/jetstream-queue.ts';
import type { RunnerProfile, StageOffer } from '../src/dispatch/stage-queue.ts';

const OFFERS = Number(process.env.BENCH_OFFERS ?? 1000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 10_000);
const OTHER_POOLS = 50;
const GOAL = 1.5;

const runner: RunnerProfile = { platform: { os: 'linux', arch: 'amd64' }, labels: {}, type: 'docker' };
const offer = (labels: Record<string, string> = {}): StageOffer => ({
  buildId: randomUUID(),
  stage: 1,
  attempt: 1,
  repoId: 'bench-repo',
  platform: { os: 'linux', arch: 'amd64', variant: '', kernel: '' },
  labels,
  type: 'docker',
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

/** `count` publishes, 500 in flight. */
async function fill(count: number, publishOne: (index: number) => Promise<unknown>) {
  for (let from = 0; from < count; from += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - from) }, (_, i) => publishOne(from + i)));
  }
}

export async function run(): Promise<void> {
  const url = process.env.RUNLOG_TEST_NATS_URL;
  if (!url) {
    console.log('  skipped: RUNLOG_TEST_NATS_URL is not set (scripts/services.sh start; source .runlog-test/env)');
    return;
  }
  const tag = randomBytes(4).toString('hex');
  const nc = await connect({ servers: url, name: 'runlog-bench-dispatch' });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const queueStream = `RUNLOG_BENCH_${tag}`;
  const bareStream = `RUNLOG_BENCH_BARE_${tag}`;
  const bareSubject = (pool: number) => `bench.${tag}.bare.p${pool}`;
  const queue = await createJetStreamQueue({ connection: nc, stream: queueStream, subjectPrefix: `bench.${tag}.stages` });
  try {
    await jsm.streams.add({
      name: bareStream,
      subjects: [`bench.${tag}.bare.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: 120_000_000_000,
    });
    await jsm.consumers.add(bareStream, { durable_name: 'p0', filter_subject: bareSubject(0), ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 });
    const bare = await js.consumers.get(bareStream, 'p0');
    const sub = await queue.pool(runner);
    const never = new AbortController().signal;

    // A runner is waiting: its request has reached the server before the clock starts.
    const ready = async () => {
      await sleep(1);
      await nc.flush();
    };
    const queueRound = async () => {
      const waiting = sub.next(never);
      const next = offer();
      await ready();
      const started = performance.now();
      await queue.publish(next);
      const delivery = await waiting;
      const elapsed = performance.now() - started;
      if (!delivery) throw new Error('the queue returned no offer');
      await delivery.ack();
      return elapsed;
    };
    const bareRound = async () => {
      const waiting = bare.next({ expires: 5000 });
      const next = offer();
      const id = randomUUID();
      await ready();
      const started = performance.now();
      // The same work the queue does on the wire: the offer as JSON, a message id.
      await js.publish(bareSubject(0), JSON.stringify(next), { msgID: id });
      const msg = await waiting;
      const elapsed = performance.now() - started;
      if (!msg) throw new Error('bare JetStream returned no message');
      await msg.ackAck();
      return elapsed;
    };
    const measure = async () => {
      const samples = { queue: [] as number[], bare: [] as number[] };
      for (let i = 0; i < 100; i++) {
        await queueRound(); // warm-up (JIT, connection buffers), not counted
        await bareRound();
      }
      for (let i = 0; i < OFFERS; i++) {
        // Alternate which goes first, so neither always follows the other's ack.
        if (i % 2 === 0) {
          samples.queue.push(await queueRound());
          samples.bare.push(await bareRound());
        } else {
          samples.bare.push(await bareRound());
          samples.queue.push(await queueRound());
        }
      }
      return { queue: percentiles(samples.queue), bare: percentiles(samples.bare) };
    };

    const row = (label: string, figures: { p50: number; p99: number }) =>
      console.log(`  ${label.padEnd(52)} p50 ${figures.p50.toFixed(3).padStart(7)} ms   p99 ${figures.p99.toFixed(3).padStart(7)} ms`);
    const ratio = (label: string, a: { p50: number; p99: number }, b: { p50: number; p99: number }, goal?: number) =>
      console.log(
        `  ${label.padEnd(52)} p50 ${(a.p50 / b.p50).toFixed(2).padStart(7)}      p99 ${(a.p99 / b.p99).toFixed(2).padStart(7)}${goal ? `      (goal ≤ ${goal})` : ''}`,
      );

    console.log(`  nats-server ${nc.info?.version ?? '?'}, ${OFFERS} offers each, publish → waiting next()`);
    const empty = await measure();
    row('runlog StageQueue (JetStream), empty stream', empty.queue);
    row('bare JetStream publish → consumer.next()', empty.bare);

    const filling = performance.now();
    await fill(BACKLOG, (i) => queue.publish(offer({ pool: String(i % OTHER_POOLS) })));
    await fill(BACKLOG, (i) => js.publish(bareSubject(1 + (i % OTHER_POOLS)), JSON.stringify(offer()), { msgID: randomUUID() }));
    console.log(`  (published ${BACKLOG} waiting offers to ${OTHER_POOLS} other pools of each stream in ${((performance.now() - filling) / 1000).toFixed(1)} s)`);
    const backlog = await measure();
    row(`runlog StageQueue, ${BACKLOG} waiting in other pools`, backlog.queue);
    row(`bare JetStream, ${BACKLOG} waiting on other subjects`, backlog.bare);

    ratio('ratio StageQueue / bare, empty', empty.queue, empty.bare);
    ratio('ratio StageQueue / bare, with backlog', backlog.queue, backlog.bare);
    ratio('ratio StageQueue with backlog / empty', backlog.queue, empty.queue, GOAL);
    ratio('ratio bare with backlog / empty', backlog.bare, empty.bare);
  } finally {
    await queue.close();
    await jsm.streams.delete(queueStream).catch(() => {});
    await jsm.streams.delete(bareStream).catch(() => {});
    await nc.close();
  }
}
