// Live streams over Server-Sent Events (Drone's `/api/stream` paths). Each connection owns a
// mailbox that the process's shared followers fill (live/build-feed.ts, live/log-tail.ts);
// the connection's loop drains it at the client's pace. Every message carries an id, and a
// client that reconnects with `Last-Event-ID` (EventSource does it by itself) continues
// after it: nothing missed, nothing twice. Event names and payloads: README "Live streams".
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { buildViewRows, droneBuildJson } from '../audit/build-views.ts';
import { fromStored } from '../audit/history-event.ts';
import { isStepEnded, type StepStatus } from '../events/build-status.ts';
import { buildStreamId } from '../events/build-events.ts';
import type { Checkpoint } from '../events/checkpoint.ts';
import type { DroneBuild } from '../live/build-snapshots.ts';
import type { BuildFeed, FeedSnapshot } from '../live/build-feed.ts';
import { createLineSplitter, cursorAfter, LOG_START, type LineCursor } from '../live/log-lines.ts';
import type { LogTail, TailChunk } from '../live/log-tail.ts';
import { createMailbox } from '../live/mailbox.ts';
import type { Caller } from './auth.ts';
import { requireRepo } from './access.ts';
import type { App, AppDeps, Env } from './app.ts';
import { positiveInt } from './bodies.ts';
import { repoJson } from './drone-json.ts';
import { ApiError, notFound } from './errors.ts';
import { findBuild } from './read-views.ts';

export type Live = { feed: BuildFeed; logs: LogTail };

/** A comment line every so often keeps proxies from cutting a quiet stream (Drone and Woodpecker: 30 s). */
const PING_MS = 30_000;
/** After a step ended, how long to wait for the last of its log to be stored before ending anyway. */
const LOG_SETTLE_MS = 3000;
const ACTIVE_BUILD = new Set(['pending', 'running', 'blocked']);

const lastEventId = (c: Context<Env>) => c.req.header('last-event-id') ?? c.req.query('last_event_id') ?? '';

const canRead = (caller: Caller, visibility: string) => caller.kind === 'admin' || visibility === 'public';

function sse(c: Context<Env>, run: (stream: SSEStreamingApi, ended: AbortSignal) => Promise<void>) {
  c.header('X-Accel-Buffering', 'no'); // nginx: pass each event on at once
  return streamSSE(c, async (stream) => {
    const ended = new AbortController();
    stream.onAbort(() => ended.abort());
    await run(stream, ended.signal);
  });
}

export function registerStreamRoutes(app: App, deps: AppDeps, live: Live) {
  // The build feed: one message per build event, the build as it stood after it.
  app.get('/api/stream', async (c) => {
    const caller = c.get('caller');
    const id = lastEventId(c);
    let after: Checkpoint | undefined;
    if (id !== '') {
      after = await live.feed.checkpointAt(id);
      if (!after) throw new ApiError(400, `Last-Event-ID: expected the position of an event this server sent (decimal digits), got '${id.slice(0, 40)}'`);
    }
    return sse(c, async (stream, ended) => {
      const mailbox = createMailbox<FeedSnapshot | 'ping'>();
      ended.addEventListener('abort', () => mailbox.close('disconnected'));
      const subscription = live.feed.subscribe({ ...(after ? { after } : {}), onSnapshot: (snapshot) => mailbox.put(snapshot), onError: () => mailbox.close('error') });
      const ping = setInterval(() => mailbox.put('ping'), PING_MS);
      try {
        for await (const item of mailbox) {
          if (item === 'ping') {
            await stream.write(': ping\n\n');
            continue;
          }
          if (!item.repo || !canRead(caller, item.repo.visibility)) continue;
          await stream.writeSSE({ id: item.position, data: JSON.stringify({ ...repoJson(item.repo), event_type: item.type, build: item.build }) });
        }
      } finally {
        clearInterval(ping);
        subscription.stop();
      }
    });
  });

  // A step's log lines as they are stored, then `done` once the step ended.
  app.get('/api/stream/:owner/:name/:number/:stage/:step', async (c) => {
    const repo = await requireRepo(deps.database, c, 'read');
    const number = positiveInt(c.req.param('number'), 'number');
    const stageNumber = positiveInt(c.req.param('stage'), 'stage');
    const stepNumber = positiveInt(c.req.param('step'), 'step');
    const row = await findBuild(deps.database, repo.id, number);
    if (!row) throw notFound(`build ${repo.slug}#${number}`);
    const id = lastEventId(c);
    const cursor: LineCursor | undefined = id === '' ? LOG_START : cursorAfter(id);
    if (!cursor) throw new ApiError(400, `Last-Event-ID: expected '<line>:<byte>' as this stream sent it, got '${id.slice(0, 40)}'`);
    const stepOf = (build: DroneBuild) => build.stages.find((stage) => stage.number === stageNumber)?.steps.find((step) => step.number === stepNumber);

    type Item = { kind: 'chunk'; chunk: TailChunk } | { kind: 'build'; build: DroneBuild } | { kind: 'settled' } | { kind: 'ping' };
    const mailbox = createMailbox<Item>();
    // Subscribe before reading the build, so no transition falls between the two.
    const subscription = live.feed.subscribe({ buildId: row.id, onSnapshot: (snapshot) => mailbox.put({ kind: 'build', build: snapshot.build }) });
    let build: DroneBuild | undefined;
    try {
      build = droneBuildJson(buildViewRows((await deps.store.readStream(buildStreamId(row.id))).map(fromStored)));
    } catch (error) {
      subscription.stop();
      throw error;
    }
    if (!build || !stepOf(build)) {
      subscription.stop();
      throw notFound(`step ${stageNumber}/${stepNumber} of build ${repo.slug}#${number}`);
    }
    const first = build;

    return sse(c, async (stream, ended) => {
      ended.addEventListener('abort', () => mailbox.close('disconnected'));
      const splitter = createLineSplitter(cursor);
      const ref = { buildId: row.id, stage: stageNumber, step: stepNumber };
      const watch = live.logs.watch(ref, cursor.byte, (chunk) => mailbox.put({ kind: 'chunk', chunk }), () => mailbox.close('error'));
      const ping = setInterval(() => mailbox.put({ kind: 'ping' }), PING_MS);
      let settle: ReturnType<typeof setTimeout> | undefined;
      let current = first;
      let ending: { size: number } | undefined;
      let finished = false;

      const stepEnded = () => {
        const step = stepOf(current);
        return !step || isStepEnded(step.status as StepStatus) || !ACTIVE_BUILD.has(current.status);
      };
      const writeLines = async (lines: ReturnType<typeof splitter.push>) => {
        for (const line of lines) await stream.writeSSE({ id: line.id, data: JSON.stringify({ pos: line.pos, out: line.out, time: line.time }) });
      };
      const finish = async () => {
        await writeLines(splitter.flush());
        const step = stepOf(current);
        await stream.writeSSE({ event: 'done', data: JSON.stringify({ status: step?.status ?? current.status, exit_code: step?.exit_code ?? 0 }) });
        finished = true;
      };
      const onBuild = async () => {
        if (ending || !stepEnded()) return;
        // The runner stores the whole log before it reports the step's end; the last chunks
        // may still be on their way to this replica's reader, so wait for `log_size` bytes.
        ending = { size: stepOf(current)?.log_size ?? 0 };
        if (splitter.consumed >= ending.size) return finish();
        settle = setTimeout(() => mailbox.put({ kind: 'settled' }), LOG_SETTLE_MS);
      };

      try {
        await onBuild();
        if (finished) return;
        for await (const item of mailbox) {
          if (finished) break;
          if (item.kind === 'ping') await stream.write(': ping\n\n');
          else if (item.kind === 'build') {
            current = item.build;
            await onBuild();
          } else if (item.kind === 'settled') await finish();
          else {
            const started = stepOf(current)?.started ?? 0;
            const time = started > 0 ? Math.max(0, Math.floor(item.chunk.created.getTime() / 1000) - started) : 0;
            await writeLines(splitter.push({ offset: item.chunk.offset, data: item.chunk.data, time }));
            if (ending && splitter.consumed >= ending.size) await finish();
          }
          if (finished) break;
        }
      } finally {
        clearInterval(ping);
        clearTimeout(settle);
        watch.stop();
        subscription.stop();
      }
    });
  });
}
