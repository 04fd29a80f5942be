// What a projection is: a pure reducer over the log's events with the tables it owns
// (STYLE.md habit 5). The generic writer (projection-writer.ts) is the only code that turns
// its row operations into SQL and moves its checkpoint.
import type { BuildEvent } from '../events/build-events.ts';
import type { Build } from '../events/build-state.ts';
import type { RepoEvent } from '../events/repo-events.ts';
import type { CronEvent } from '../cron/cron-events.ts';
import type { SecretEvent } from '../secrets/secret-events.ts';
import type { UserEvent } from '../access/user-events.ts';
import type { RowOp } from './row-ops.ts';
import type { TableName } from './tables.ts';

/** Where an event sits in the log. */
export interface LogPosition {
  readonly streamId: string;
  readonly streamVersion: number;
  /** Decimal strings, as the store gives them (64-bit). */
  readonly globalPosition: string;
  readonly transactionId: string;
}

/**
 * An event as reducers see it: its typed `type` and `data`, its place in the log, and —
 * for a build's events — `build`, the build folded through this event with the decider's
 * own `evolve`. Reducers read statuses from `build` rather than working them out from the
 * event, so every view shows exactly the lifecycle the decider defines (build-state.ts,
 * build-status.ts) and there is no second one to drift.
 */
export type ProjectedEvent = (BuildEvent & LogPosition & { readonly build: Build }) | (RepoEvent & LogPosition) | (AccessEvent & LogPosition);

/** Events of the streams beside builds and repos: users, secrets, cron jobs (each a plain zod-checked event). */
export type AccessEvent = UserEvent | SecretEvent | CronEvent;

export type ProjectedBuildEvent = Extract<ProjectedEvent, { build: Build }>;

/**
 * A view of the log.
 *
 * Contract: `reduce` is pure — no I/O, no clock, no randomness — and sees each event it
 * `handles` exactly once, in log order. It returns operations on rows of its own `tables`
 * only; the writer folds a batch's operations per row and applies them together with the
 * projection's checkpoint, in one transaction. Replaying the whole log through `reduce`
 * into empty tables gives exactly the rows the live projector wrote (that is what
 * `runlog projections rebuild` and `runlog verify` rely on), so a reducer may never depend
 * on anything but the events.
 */
export interface Projection {
  /** Stable: the checkpoint is stored under it and `runlog projections rebuild <name>` takes it. */
  readonly name: string;
  readonly tables: readonly TableName[];
  /** Event types `reduce` is called with; the checkpoint moves past all others too. */
  readonly handles: ReadonlySet<string>;
  reduce(event: ProjectedEvent): readonly RowOp[];
}
