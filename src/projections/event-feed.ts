// Turns stored events into what reducers see (ProjectedEvent): validated against their zod
// schema, and each build event carrying its build folded through it with the decider's
// `evolve`. Keeps the folded builds between batches, so a live projector folds each event
// once; a build it has not seen (or saw at another version) is re-read from its stream.
import { BuildEvent, buildEventTypes } from '../events/build-events.ts';
import { evolve, initialState, isBuild, type BuildState } from '../events/build-state.ts';
import type { StoredEvent } from '../events/event-store.ts';
import { RepoEvent, repoEventTypes } from '../events/repo-events.ts';
import type { LogPosition, ProjectedEvent } from './projection.ts';

export interface EventFeedOptions {
  /** A stream's events from version 1 to `toVersion`, in order (the store's `readStream`). */
  readonly readStream: (streamId: string, toVersion: number) => Promise<readonly StoredEvent[]>;
  /** Most builds kept folded between batches (least recently used go first); default 20,000. */
  readonly maxCached?: number;
}

export interface EventFeed {
  /**
   * The batch's build and repo events, in the given (log) order, typed and with their
   * builds folded; events of other types are left out. Throws EventSchemaError for a stored
   * event its schema refuses: the projector stops rather than show a guess.
   */
  project(events: readonly StoredEvent[]): Promise<ProjectedEvent[]>;
  /** Forget every folded build (after a transaction that carried them rolled back, say). */
  clear(): void;
}

/** A stored event does not match its type's schema. */
export class EventSchemaError extends Error {
  override readonly name = 'EventSchemaError';
  readonly globalPosition: string;
  readonly streamId: string;
  readonly streamVersion: number;

  constructor(event: StoredEvent, message: string) {
    super(`event ${event.type} at ${event.streamId}@${event.streamVersion} (global position ${event.globalPosition}) does not match its schema: ${message}`);
    this.globalPosition = event.globalPosition;
    this.streamId = event.streamId;
    this.streamVersion = event.streamVersion;
  }
}

const buildTypes: ReadonlySet<string> = new Set(buildEventTypes);
const repoTypes: ReadonlySet<string> = repoEventTypes;

interface Folded {
  version: number;
  state: BuildState;
}

export function createEventFeed(options: EventFeedOptions): EventFeed {
  const maxCached = options.maxCached ?? 20_000;
  const cache = new Map<string, Folded>();

  /** The build as of `version`, from the cache when it holds exactly that version. */
  async function stateAt(streamId: string, version: number): Promise<BuildState> {
    const cached = cache.get(streamId);
    if (cached && cached.version === version) return cached.state;
    if (version === 0) return initialState();
    let state = initialState();
    for (const stored of await options.readStream(streamId, version)) state = evolve(state, parseBuild(stored));
    return state;
  }

  return {
    async project(events) {
      const typed = events.map(parse);
      // Where each build stream stands before this batch.
      const states = new Map<string, Folded>();
      const firsts = new Map<string, number>();
      for (const item of typed) {
        if (item?.kind === 'build' && !firsts.has(item.event.streamId)) firsts.set(item.event.streamId, item.event.streamVersion);
      }
      await Promise.all(
        [...firsts].map(async ([streamId, first]) => {
          states.set(streamId, { version: first - 1, state: await stateAt(streamId, first - 1) });
        }),
      );
      const out: ProjectedEvent[] = [];
      for (const item of typed) {
        if (item === null) continue;
        if (item.kind === 'repo') {
          out.push(item.event);
          continue;
        }
        const folded = states.get(item.event.streamId)!;
        folded.state = evolve(folded.state, item.event);
        folded.version = item.event.streamVersion;
        // Events before a stream's BuildCreated fold to nothing; no view shows them.
        if (isBuild(folded.state)) out.push({ ...item.event, build: folded.state });
      }
      for (const [streamId, folded] of states) {
        cache.delete(streamId);
        // A finished build changes no more: keep the room for running ones.
        if (!(isBuild(folded.state) && folded.state.finished)) cache.set(streamId, folded);
      }
      for (const streamId of cache.keys()) {
        if (cache.size <= maxCached) break;
        cache.delete(streamId);
      }
      return out;
    },
    clear: () => cache.clear(),
  };
}

type Parsed = { kind: 'build'; event: BuildEvent & LogPosition } | { kind: 'repo'; event: RepoEvent & LogPosition } | null;

/** The typed event with its place in the log; null for a type no projection reads. */
function parse(stored: StoredEvent): Parsed {
  const position: LogPosition = {
    streamId: stored.streamId,
    streamVersion: stored.streamVersion,
    globalPosition: stored.globalPosition,
    transactionId: stored.transactionId,
  };
  if (buildTypes.has(stored.type)) return { kind: 'build', event: { ...parseBuild(stored), ...position } };
  if (repoTypes.has(stored.type)) return { kind: 'repo', event: { ...parseRepo(stored), ...position } };
  return null;
}

function parseBuild(stored: StoredEvent): BuildEvent {
  const parsed = BuildEvent.safeParse({ type: stored.type, data: stored.data });
  if (!parsed.success) throw new EventSchemaError(stored, parsed.error.message);
  return parsed.data;
}

function parseRepo(stored: StoredEvent): RepoEvent {
  const parsed = RepoEvent.safeParse({ type: stored.type, data: stored.data });
  if (!parsed.success) throw new EventSchemaError(stored, parsed.error.message);
  if (parsed.data.type !== 'RepoUpdated') return parsed.data;
  // zod fills the defaults of `RepoSettings.partial()` in: keep only the settings the stored
  // event really changed, or an update of one setting would reset the others.
  const storedChanges = ((stored.data as { changes?: Record<string, unknown> }).changes ?? {}) as Record<string, unknown>;
  const changes = Object.fromEntries(Object.entries(parsed.data.data.changes).filter(([key]) => key in storedChanges));
  return { ...parsed.data, data: { ...parsed.data.data, changes } };
}
