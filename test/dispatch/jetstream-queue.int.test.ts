// The StageQueue contract on NATS JetStream, against the nats-server that
// scripts/services.sh starts (RUNLOG_TEST_NATS_URL). Every test gets a stream and a subject
// prefix of its own, deleted afterwards, since the whole suite shares that server.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createJetStreamQueue } from '../../src/dispatch/jetstream-queue.ts';
import type { StageQueue } from '../../src/dispatch/stage-queue.ts';
import { linuxRunner, nextWithin, sleep, stageOffer, stageQueueContract } from './stage-queue.contract.ts';

function natsUrl(): string {
  const url = process.env.RUNLOG_TEST_NATS_URL;
  if (!url) {
    throw new Error(
      'RUNLOG_TEST_NATS_URL is not set: run `scripts/services.sh start` and then `source .runlog-test/env` ' +
        '(or run the whole suite with `npm test`, which does both)',
    );
  }
  return url;
}

let admin: Promise<NatsConnection> | undefined;
after(async () => {
  if (admin) await (await admin).close();
});

describe('StageQueue on JetStream', () => {
  stageQueueContract(async ({ ackWaitMs }) => {
    const tag = randomBytes(6).toString('hex');
    const settings = { servers: natsUrl(), stream: `RUNLOG_TEST_${tag}`, subjectPrefix: `test.${tag}.stages`, ackWaitMs, pullExpiresMs: 1000 };
    const handles: StageQueue[] = [await createJetStreamQueue(settings)];
    return {
      queue: handles[0]!,
      async peer() {
        const handle = await createJetStreamQueue(settings);
        handles.push(handle);
        return handle;
      },
      async dispose() {
        await Promise.all(handles.map((handle) => handle.close()));
        admin ??= connect({ servers: natsUrl() });
        await (await jetstreamManager(await admin)).streams.delete(settings.stream);
      },
    };
  }, 1000);
});

/** A nats-server of this test's own (port, store folder), so that it may be killed and restarted. */
async function privateServer() {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
  const store = mkdtempSync(join(tmpdir(), 'runlog-nats-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('nats-server', ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await listening(port))) {
      if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port} within 10 s`);
      await sleep(50);
    }
  };
  const kill = async () => {
    const dying = child;
    if (!dying || dying.exitCode !== null) return;
    const exited = new Promise((resolve) => dying.once('exit', resolve));
    dying.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      await kill();
      rmSync(store, { recursive: true, force: true });
    },
  };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('StageQueue on JetStream, across a nats-server crash', () => {
  it('keeps waiting runners, stored offers and the duplicate window through kill -9 and restart', async () => {
    const server = await privateServer();
    const queue = await createJetStreamQueue({ servers: server.url, ackWaitMs: 1000, pullExpiresMs: 1000, publishTimeoutMs: 1500 });
    try {
      // Given a runner waiting for work, and an offer stored for a pool no runner serves yet
      const sub = await queue.pool(linuxRunner);
      const waiting = nextWithin(sub, 20_000);
      const stored = stageOffer({ type: 'exec' });
      await queue.publish(stored);

      // When the server dies hard and comes back
      await server.restart();

      // Then the waiting runner gets an offer published afterwards
      const fresh = stageOffer();
      await queue.publish(fresh);
      const delivery = await waiting;
      assert.deepEqual(delivery?.offer, fresh);
      await delivery!.ack();

      // And the stored offer survived, still deduplicated, and is delivered once
      assert.deepEqual(await queue.publish(stored), { duplicate: true });
      const execSub = await queue.pool({ ...linuxRunner, type: 'exec' });
      const kept = await nextWithin(execSub, 5000);
      assert.deepEqual(kept?.offer, stored);
      assert.equal(kept?.deliveryCount, 1);
      await kept!.ack();
      assert.equal(await nextWithin(execSub, 1500), null);
      assert.equal(await queue.depth(), 0);
    } finally {
      await queue.close();
      await server.stop();
    }
  });
});
