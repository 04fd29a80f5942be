// Turns stored events into what reducers see (ProjectedEvent): validated against their zod
// schema, and each build event carrying its build folded through it with the decider's
// `evolve`. Keeps the folded builds between batches, so a live projector folds each event
// once; a build it has not seen (or saw at another version) is re-read from its stream.
import { z } from 'zod';
import { BuildCreated, BuildEvent } from '../events/build-events.ts';
import { Plan, PlanStage, PlanStep } from '../pipeline/plan.ts';
import { evolve, initialState, isBuild, type BuildState } from '../events/build-state.ts';
import type { StoredEvent } from '../events/event-store.ts';
import { RepoEvent, repoEventTypes } from '../events/repo-events.ts';
import type { AccessEvent, ProjectedEvent } from './projection.ts';
import { UserEvent, userEventTypes } from '../access/user-events.ts';
import { SecretEvent, secretEventTypes } from '../secrets/secret-events.ts';
import { CronEvent, cronEventTypes } from '../cron/cron-events.ts';

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


/**
 * `BuildCreated` as the views need it. A compiled plan is large (every step's full
 * environment: ~30 KB for a modest pipeline) and validating it all is most of what reading
 * the log costs a rebuild. Here every field a reducer or `evolve` reads is validated (and
 * gets its default) as in `Plan`; the rest is kept as stored, by reference, unvalidated —
 * the decider validated the whole plan when it recorded it. A reducer that starts reading
 * another plan field must add it here.
 */
const ViewStep = PlanStep.pick({ number: true, name: true, kind: true, image: true, detach: true, failure: true, skip: true }).loose();
const ViewStage = PlanStage.pick({ number: true, name: true, type: true, platform: true, labels: true, dependsOn: true, runsOn: true, skip: true, concurrency: true })
  .extend({ services: z.array(ViewStep).default([]), steps: z.array(ViewStep) })
  .loose();
const ViewPlan = Plan.pick({ version: true }).extend({ stages: z.array(ViewStage) }).loose();
/** The schema of each build event type's `data` (parsing `data` alone skips the union's dispatch). */
const buildData: ReadonlyMap<string, z.ZodType> = new Map([
  ['BuildCreated', BuildCreated.shape.data.extend({ plan: ViewPlan.optional() })],
  ...BuildEvent.options.filter((option) => option !== BuildCreated).map((option): [string, z.ZodType] => [option.shape.type.value, option.shape.data]),
]);
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
      for (let i = 0; i < events.length; i++) {
        const { streamId, streamVersion } = events[i]!;
        if (typed[i]?.kind === 'build' && !firsts.has(streamId)) firsts.set(streamId, streamVersion);
      }
      await Promise.all(
        [...firsts].map(async ([streamId, first]) => {
          states.set(streamId, { version: first - 1, state: await stateAt(streamId, first - 1) });
        }),
      );
      const out: ProjectedEvent[] = [];
      for (let i = 0; i < events.length; i++) {
        const item = typed[i];
        if (!item) continue;
        const stored = events[i]!;
        const position = { streamId: stored.streamId, streamVersion: stored.streamVersion, globalPosition: stored.globalPosition, transactionId: stored.transactionId };
        if (item.kind === 'repo' || item.kind === 'access') {
          out.push({ ...item.event, ...position });
          continue;
        }
        const folded = states.get(stored.streamId)!;
        folded.state = evolve(folded.state, item.event);
        folded.version = stored.streamVersion;
        // Events before a stream's BuildCreated fold to nothing; no view shows them.
        if (isBuild(folded.state)) out.push({ type: item.event.type, data: item.event.data, ...position, build: folded.state } as ProjectedEvent);
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

type Parsed = { kind: 'build'; event: BuildEvent } | { kind: 'repo'; event: RepoEvent } | { kind: 'access'; event: AccessEvent } | null;

const accessSchemas: readonly [ReadonlySet<string>, z.ZodType<AccessEvent>][] = [
  [userEventTypes, UserEvent],
  [secretEventTypes, SecretEvent],
  [cronEventTypes, CronEvent],
];

/** The typed event; null for a type no projection reads. */
function parse(stored: StoredEvent): Parsed {
  const schema = buildData.get(stored.type);
  if (schema) return { kind: 'build', event: parseBuild(stored, schema) };
  if (repoTypes.has(stored.type)) return { kind: 'repo', event: parseRepo(stored) };
  for (const [types, schema] of accessSchemas) {
    if (!types.has(stored.type)) continue;
    const parsed = schema.safeParse({ type: stored.type, data: stored.data });
    if (!parsed.success) throw new EventSchemaError(stored, parsed.error.message);
    return { kind: 'access', event: parsed.data };
  }
  return null;
}

function parseBuild(stored: StoredEvent, schema: z.ZodType = buildData.get(stored.type)!): BuildEvent {
  const parsed = schema.safeParse(stored.data);
  if (!parsed.success) throw new EventSchemaError(stored, parsed.error.message);
  // A BuildCreated plan's unvalidated rest is as stored, which the decider validated as a Plan.
  return { type: stored.type, data: parsed.data } as BuildEvent;
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
