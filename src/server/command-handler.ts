import { BuildEvent, buildStreamId } from '../events/build-events.ts';
import type { BuildCommand } from '../events/build-commands.ts';
import { decide } from '../events/build-decider.ts';
import { evolve, initialState, type BuildState } from '../events/build-state.ts';
import type { AppendResult, Checkpoint, EventStore, StoredEvent } from '../events/event-store.ts';
import { StreamVersionConflict } from '../events/event-store.ts';
import { decideRepo, evolveRepo, initialRepoState, type RepoCommand, type RepoState } from '../events/repo-decider.ts';
import { RepoEvent, repoStreamId } from '../events/repo-events.ts';

/** A decider as command handling needs it: pure decide/evolve, and how to read its events back. */
export type Decider<Command, Event, State> = {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
  /** Validates a stored event (the store holds JSON, not types). */
  read(stored: StoredEvent): Event;
};

type Metadata<State> = Record<string, unknown> | ((state: State) => Record<string, unknown>);

export type Handled<Event, State> = {
  /** The events this command appended (empty when the decider had nothing to say). */
  events: Event[];
  /** The stream's state after them. */
  state: State;
  /** Where the last appended event sits in the log, for read-after-write waits. */
  checkpoint?: Checkpoint;
  /** The whole stream as decided on, these events included (a claim hands it to its runner, saving it a read). */
  stream: Event[];
};

export const lastCheckpoint = (result: AppendResult): Checkpoint | undefined => {
  const globalPosition = result.globalPositions.at(-1);
  return globalPosition === undefined ? undefined : { transactionId: result.transactionId, globalPosition };
};

/**
 * Read the stream, fold, decide, append with the version read. A version conflict means
 * someone else appended in between: re-read and re-decide (the decider may now refuse,
 * which is then the right answer), never overwrite. The decider's errors pass through.
 */
export async function handleCommand<Command, Event extends { type: string; data: unknown }, State>(
  store: EventStore,
  streamId: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  /** Recorded with the events; a function reads it off the state the command is decided on. */
  metadata: Metadata<State> = {},
  retries = 8,
): Promise<Handled<Event, State>> {
  for (let attempt = 0; ; attempt += 1) {
    const stored = await store.readStream(streamId);
    const read = stored.map(decider.read);
    const state = read.reduce(decider.evolve, decider.initialState());
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, stream: read };
    try {
      const result = await store.append(streamId, stored.length, events, typeof metadata === 'function' ? metadata(state) : metadata);
      return { events, state: events.reduce(decider.evolve, state), checkpoint: lastCheckpoint(result), stream: [...read, ...events] };
    } catch (error) {
      if (!(error instanceof StreamVersionConflict) || attempt >= retries) throw error;
    }
  }
}

export const buildDecider: Decider<BuildCommand, BuildEvent, BuildState> = {
  decide,
  evolve,
  initialState,
  read: (stored) => BuildEvent.parse({ type: stored.type, data: stored.data }),
};

export const repoDecider: Decider<RepoCommand, RepoEvent, RepoState> = {
  decide: decideRepo,
  evolve: evolveRepo,
  initialState: initialRepoState,
  read: (stored) => RepoEvent.parse({ type: stored.type, data: stored.data }),
};

export const handleBuildCommand = (store: EventStore, buildId: string, command: BuildCommand, metadata?: Metadata<BuildState>) =>
  handleCommand(store, buildStreamId(buildId), buildDecider, command, metadata);

export const handleRepoCommand = (store: EventStore, repoId: string, command: RepoCommand, metadata?: Record<string, unknown>) =>
  handleCommand(store, repoStreamId(repoId), repoDecider, command, metadata);

/** A build's stream read back as typed events (validated: the store holds JSON). */
export async function readBuild(store: EventStore, buildId: string): Promise<{ events: BuildEvent[]; stored: StoredEvent[] }> {
  const stored = await store.readStream(buildStreamId(buildId));
  return { stored, events: stored.map(buildDecider.read) };
}
