// Where `runlog events` and `runlog replay` read a build's history from: a server
// (RUNLOG_SERVER, with RUNLOG_TOKEN for private repos) through `GET .../events`, or the
// database directly (RUNLOG_DATABASE_URL, else the embedded ./.runlog). Either way the
// commands get the same HistoryEvents and do the same pure work on them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../events/database.ts';
import { createEventStore } from '../events/sql-event-store.ts';
import { ConfigError, databaseTarget, openConfiguredDatabase } from '../server/config.ts';
import { describeRef, findBuildStream, UsageError, type BuildRef } from './build-ref.ts';
import { fromHistoryJson, fromStored, HistoryEventJson, type HistoryEvent } from './history-event.ts';

export interface HistorySource {
  /** 'server https://ci.example.com' or 'database postgres://…' / 'database ./.runlog/db'. */
  readonly description: string;
  /**
   * The build's events after `after` (all of them when absent), in order. Throws UsageError
   * when there is no such build.
   */
  readEvents(ref: BuildRef, after?: HistoryEvent): Promise<HistoryEvent[]>;
  close(): Promise<void>;
}

/** A server that answers, but not what we asked: the message says what to do. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}

export async function openHistorySource(env: NodeJS.ProcessEnv = process.env, fetcher: typeof fetch = fetch): Promise<HistorySource> {
  const server = env.RUNLOG_SERVER?.trim();
  if (server) return serverSource(server, env.RUNLOG_TOKEN?.trim() || undefined, fetcher);
  return databaseSource(await openExistingDatabase(env), env);
}

/**
 * The configured database, for commands that read it: an embedded folder that does not
 * exist is an error that says where runlog looked, not a new empty database that would
 * report "no such build" or, worse, "intact".
 */
export async function openExistingDatabase(env: NodeJS.ProcessEnv = process.env): Promise<Database> {
  const target = databaseTarget(env);
  if (target.kind === 'pglite' && !existsSync(join(target.dir, 'PG_VERSION'))) {
    throw new ConfigError(
      `no runlog database at ${target.dir}: run this where \`runlog serve\` keeps its .runlog folder, set RUNLOG_DATA to that folder, ` +
        'set RUNLOG_DATABASE_URL for a Postgres server, or RUNLOG_SERVER (and RUNLOG_TOKEN) to ask a running server',
    );
  }
  if (target.kind === 'pglite') assertNotInUse(target.dir);
  return openConfiguredDatabase(env);
}

/**
 * An embedded database folder is one process's at a time (PGlite has no server to share it),
 * and a second process writing to it (even a reader replays and checkpoints) can corrupt it.
 * PGlite leaves postmaster.pid in the folder while it is open; refuse then, and say how to
 * read it anyway.
 */
export function assertNotInUse(dir: string): void {
  if (existsSync(join(dir, 'postmaster.pid'))) {
    throw new ConfigError(
      `the embedded database ${dir} is open in another process (runlog serve?): ask that server instead with ` +
        'RUNLOG_SERVER=http://localhost:8080 and RUNLOG_TOKEN=<its admin token> (events, replay), or stop it first. ' +
        `If nothing is running, a crash left ${join(dir, 'postmaster.pid')} behind: delete it and run this again`,
    );
  }
}

export function databaseSource(database: Database, env: NodeJS.ProcessEnv = process.env): HistorySource {
  const store = createEventStore(database);
  const streams = new Map<string, string>();
  return {
    description: `database ${env.RUNLOG_DATABASE_URL ? redact(env.RUNLOG_DATABASE_URL) : `${env.RUNLOG_DATA ?? '.runlog'}/db`}`,
    async readEvents(ref, after) {
      const key = describeRef(ref);
      let streamId = streams.get(key);
      if (!streamId) {
        streamId = await findBuildStream(database, ref);
        if (!streamId) throw new UsageError(`no build ${key} in the log`);
        streams.set(key, streamId);
      }
      const stored = await store.readStream(streamId, after ? { fromVersion: after.version + 1 } : {});
      return stored.map(fromStored);
    },
    close: () => database.close(),
  };
}

const PAGE = 1000;

export function serverSource(base: string, token: string | undefined, fetcher: typeof fetch = fetch): HistorySource {
  let root: URL;
  try {
    root = new URL(base.endsWith('/') ? base : `${base}/`);
    if (root.protocol !== 'http:' && root.protocol !== 'https:') throw new TypeError('not http');
  } catch {
    throw new ConfigError(`RUNLOG_SERVER must be an http(s) URL like https://ci.example.com, got '${base.slice(0, 80)}'`);
  }
  return {
    description: `server ${root.origin}${root.pathname.replace(/\/$/, '')}`,
    async readEvents(ref, after) {
      const [owner, name] = ref.repo.split('/') as [string, string];
      const out: HistoryEvent[] = [];
      let cursor = after?.position;
      for (;;) {
        const url = new URL(`api/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/builds/${ref.number}/events`, root);
        url.searchParams.set('limit', String(PAGE));
        if (cursor !== undefined) url.searchParams.set('after', cursor);
        let response: Response;
        try {
          response = await fetcher(url, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
        } catch (error) {
          throw new SourceError(`cannot reach RUNLOG_SERVER ${root.origin}: ${(error as Error).message}; is the server running, and is the URL right?`);
        }
        if (response.status === 404) throw new UsageError(`no build ${describeRef(ref)} on ${root.origin} (${await messageOf(response)})`);
        if (response.status === 401 || response.status === 403) {
          throw new SourceError(`${root.origin} refused the request (${response.status}: ${await messageOf(response)}); set RUNLOG_TOKEN to a valid token`);
        }
        if (!response.ok) throw new SourceError(`${root.origin} answered ${response.status}: ${await messageOf(response)}`);
        const parsed = HistoryEventJson.array().safeParse(await response.json().catch(() => undefined));
        if (!parsed.success) throw new SourceError(`${root.origin} did not answer with a list of events: is RUNLOG_SERVER a runlog server?`);
        const page = parsed.data.map(fromHistoryJson);
        out.push(...page);
        if (page.length < PAGE) return out;
        cursor = page[page.length - 1]!.position;
      }
    },
    close: async () => {},
  };
}

async function messageOf(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: show the start of the text
  }
  return text.slice(0, 200) || response.statusText;
}

/** A URL without its password, for messages. */
export const redact = (url: string): string => url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
