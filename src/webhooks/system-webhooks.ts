// Outbound system webhooks (Drone's DRONE_WEBHOOK_ENDPOINT): a follower of the event log that
// POSTs a JSON message for each build and repo change to every configured endpoint, signed
// with HMAC-SHA256. Delivery is at least once: the follower's checkpoint (row
// `webhooks:system` of `checkpoints`) moves only after a batch was sent, so a crash resends
// it; receivers deduplicate by `X-Runlog-Delivery`. A failing endpoint is retried with
// backoff and then skipped with a log line — webhooks never fail or hold up a build, and
// while an endpoint stays down each message gets one try, so a dead receiver does not
// stall the rest.
import { inArray } from 'drizzle-orm';
import type { Database } from '../events/database.ts';
import { markFollowerStart, runFollower, writeFollowerCheckpoint } from '../events/follower-checkpoint.ts';
import type { EventStore, StoredEvent } from '../events/event-store.ts';
import { repoJson } from '../api/drone-json.ts';
import { buildSnapshots } from '../live/build-snapshots.ts';
import { repos } from '../projections/tables.ts';
import { signBody, SIGNATURE_HEADER } from './signature.ts';

export const CHECKPOINT_NAME = 'webhooks:system';

export interface WebhookConfig {
  readonly endpoints: readonly string[];
  readonly secret: string;
  /** Pauses between tries of one message; default 1, 4, 16 s (four tries). */
  readonly retryDelaysMs?: readonly number[];
  /** Per try; default 10 s. */
  readonly timeoutMs?: number;
}

export type WebhookMessage = {
  event: 'build' | 'repo';
  action: 'created' | 'updated' | 'enabled' | 'disabled';
  repo: ReturnType<typeof repoJson>;
  build?: unknown;
};

type Delivery = { id: string; message: WebhookMessage };

const REPO_ACTIONS: Record<string, WebhookMessage['action']> = { RepoActivated: 'enabled', RepoUpdated: 'updated', RepoDeactivated: 'disabled' };

/** Parses RUNLOG_WEBHOOK_ENDPOINT / RUNLOG_WEBHOOK_SECRET; undefined when no endpoint is set. Throws with what is wrong. */
export function webhookConfigFromEnv(env: Record<string, string | undefined> = process.env): WebhookConfig | undefined {
  const endpoints = (env.RUNLOG_WEBHOOK_ENDPOINT ?? '').split(',').map((url) => url.trim()).filter((url) => url !== '');
  if (endpoints.length === 0) return undefined;
  for (const endpoint of endpoints) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {}
    if (!url || !/^https?:$/.test(url.protocol)) throw new Error(`RUNLOG_WEBHOOK_ENDPOINT: expected http(s) URLs separated by commas, got '${endpoint.slice(0, 80)}'`);
  }
  const secret = env.RUNLOG_WEBHOOK_SECRET ?? '';
  if (secret.length < 16) throw new Error('RUNLOG_WEBHOOK_ENDPOINT is set, so RUNLOG_WEBHOOK_SECRET must be too (at least 16 characters): receivers check the X-Runlog-Signature it keys');
  return { endpoints, secret };
}

/** The messages a batch of events makes, in log order (build: created, then updated on each change of status). */
export async function webhookMessages(database: Database, store: EventStore, batch: readonly StoredEvent[]): Promise<Delivery[]> {
  const snapshots = new Map((await buildSnapshots(store, batch)).map((snapshot) => [snapshot.position, snapshot]));
  const repoIds = new Set<string>([...snapshots.values()].map((snapshot) => snapshot.repoId));
  const repoEvents = batch.filter((event) => event.type in REPO_ACTIONS);
  for (const event of repoEvents) repoIds.add((event.data as { repoId: string }).repoId);
  const rows = await repoRows(database, [...repoIds], repoEvents);
  const deliveries: Delivery[] = [];
  for (const event of batch) {
    const snapshot = snapshots.get(event.globalPosition);
    if (snapshot) {
      const repo = rows.get(snapshot.repoId);
      const action = event.type === 'BuildCreated' ? 'created' : snapshot.build.status !== snapshot.previousStatus ? 'updated' : undefined;
      if (repo && action) deliveries.push({ id: event.globalPosition, message: { event: 'build', action, repo: repoJson(repo), build: snapshot.build } });
    } else if (event.type in REPO_ACTIONS) {
      const repo = rows.get((event.data as { repoId: string }).repoId);
      if (repo) deliveries.push({ id: event.globalPosition, message: { event: 'repo', action: REPO_ACTIONS[event.type]!, repo: repoJson(repo) } });
    }
  }
  return deliveries;
}

/** The repos, waiting (a little) for the view to have applied the batch's repo events. */
async function repoRows(database: Database, ids: string[], repoEvents: readonly StoredEvent[]) {
  const needed = new Map(repoEvents.map((event) => [(event.data as { repoId: string }).repoId, event.streamVersion]));
  for (let attempt = 0; ; attempt += 1) {
    const rows = ids.length > 0 ? await database.db.select().from(repos).where(inArray(repos.id, ids)) : [];
    const byId = new Map(rows.map((row) => [row.id, row]));
    const behind = [...needed].some(([id, version]) => (byId.get(id)?.version ?? 0) < version);
    if (!behind || attempt >= 50) return byId;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface WebhookSenderOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly config: WebhookConfig;
  readonly signal: AbortSignal;
  readonly version?: string;
  readonly log?: (message: string) => void;
  readonly pollIntervalMs?: number;
}

/** Runs until `signal` aborts. Starts where it stopped; the first time, where `markWebhookStart` (awaited before the server listens) put it: the log's end then, so no flood of history. */
export async function runSystemWebhooks(options: WebhookSenderOptions): Promise<void> {
  const { database, store, config, signal } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const delays = config.retryDelaysMs ?? [1000, 4000, 16000];
  const down = new Set<string>();

  async function post(endpoint: string, delivery: Delivery, body: string): Promise<void> {
    const tries = down.has(endpoint) ? 1 : delays.length + 1;
    let problem = '';
    for (let attempt = 1; attempt <= tries && !signal.aborted; attempt += 1) {
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': `runlog/${options.version ?? 'dev'}`,
            'x-runlog-event': delivery.message.event,
            'x-runlog-delivery': delivery.id,
            [SIGNATURE_HEADER]: signBody(config.secret, body),
          },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs ?? 10_000)]),
        });
        await response.body?.cancel().catch(() => {});
        if (response.ok) {
          down.delete(endpoint);
          return;
        }
        problem = `HTTP ${response.status}`;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
      if (attempt < tries) await sleep(delays[attempt - 1]!, signal);
    }
    if (signal.aborted) return;
    down.add(endpoint);
    log(`runlog: system webhook ${delivery.message.event}/${delivery.message.action} #${delivery.id} to ${endpoint} failed after ${tries} tr${tries === 1 ? 'y' : 'ies'} (${problem}); skipped`);
  }

  await runFollower(database, store, {
    name: CHECKPOINT_NAME,
    signal,
    ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    onBatch: async (batch, checkpoint) => {
      for (const delivery of await webhookMessages(database, store, batch)) {
        const body = JSON.stringify(delivery.message);
        await Promise.all(config.endpoints.map((endpoint) => post(endpoint, delivery, body)));
        if (signal.aborted) return; // unsent: the checkpoint stays, the batch is sent again next time
      }
      await writeFollowerCheckpoint(database, CHECKPOINT_NAME, checkpoint);
    },
    onError: (error) => log(`runlog: system webhooks: ${error instanceof Error ? error.message : String(error)}; following again in 1 s`),
  });
}

/** Fixes a first start's place at the log's end before the server listens (see follower-checkpoint.ts). */
export const markWebhookStart = (database: Database, store: EventStore) => markFollowerStart(database, store, CHECKPOINT_NAME);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
