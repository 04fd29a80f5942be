// One build's rows of the views, computed in memory from its events: the projections' own
// reducers, fed the build folded by the decider's `evolve`, their row operations folded by
// the writer's own row batch. So "the build at position N" over HTTP is exactly the rows the
// live projector had written once it applied event N — and `runlog verify <repo> <build>`
// can compare them with the live rows without rebuilding every view. Pure.
import { getTableColumns, is, SQL } from 'drizzle-orm';
import { evolve, initialState, isBuild, type BuildState } from '../events/build-state.ts';
import { buildsProjection } from '../projections/builds-projection.ts';
import type { ProjectedEvent } from '../projections/projection.ts';
import { queueProjection } from '../projections/queue-projection.ts';
import { createRowBatch, type Values } from '../projections/row-batch.ts';
import { stagesProjection } from '../projections/stages-projection.ts';
import { stepsProjection } from '../projections/steps-projection.ts';
import { tableMeta } from '../projections/table-meta.ts';
import { projectionTables, type builds, type queue, type stages, type steps, type TableName } from '../projections/tables.ts';
import { buildJson, stageJson } from '../api/drone-json.ts';
import type { HistoryEvent } from './history-event.ts';
import { parseBuildEvent } from './replay.ts';

export type BuildRow = typeof builds.$inferSelect;
export type StageRow = typeof stages.$inferSelect;
export type StepRow = typeof steps.$inferSelect;
export type QueueRow = typeof queue.$inferSelect;

export interface BuildViewRows {
  readonly builds: BuildRow[];
  readonly stages: StageRow[];
  readonly steps: StepRow[];
  readonly queue: QueueRow[];
}

/** The projections whose rows belong to one build (repo_counters and repos span builds). */
export const perBuildProjections = [buildsProjection, stagesProjection, stepsProjection, queueProjection] as const;
export const perBuildTables = ['builds', 'stages', 'steps', 'queue'] as const satisfies readonly TableName[];

/** The stream's events (from version 1, in order) as reducers see them. */
export function projectedEvents(events: readonly HistoryEvent[]): ProjectedEvent[] {
  let state: BuildState = initialState();
  const out: ProjectedEvent[] = [];
  for (const stored of events) {
    const event = parseBuildEvent(stored);
    state = evolve(state, event);
    if (!isBuild(state)) continue;
    out.push({
      ...event,
      streamId: stored.streamId,
      streamVersion: stored.version,
      globalPosition: stored.position,
      // Reducers never read it; the writer compares it only against a cursor, and there is none.
      transactionId: '0',
      build: state,
    } as ProjectedEvent);
  }
  return out;
}

/** The rows the views hold for this build once `events` (a prefix of its stream) are applied to empty tables. */
export function buildViewRows(events: readonly HistoryEvent[]): BuildViewRows {
  return buildViewRowsOf(projectedEvents(events));
}

/** The same from events already projected (a prefix of `projectedEvents`): folds a stream once, views it at many versions. */
export function buildViewRowsOf(projected: readonly ProjectedEvent[]): BuildViewRows {
  const batch = createRowBatch();
  for (const event of projected) {
    for (const projection of perBuildProjections) {
      if (projection.handles.has(event.type)) for (const op of projection.reduce(event)) batch.add(op);
    }
  }
  const rows = { builds: [], stages: [], steps: [], queue: [] } as Record<(typeof perBuildTables)[number], Values[]>;
  for (const [table, pending] of batch.pending()) {
    if (!(table in rows)) continue;
    for (const row of pending.values()) {
      // From empty tables a patch finds no row and a delete nothing to remove; only rows
      // that an upsert (or a delete then upsert) created exist.
      if (row.kind === 'upsert' || row.kind === 'replace') rows[table as keyof typeof rows].push(withDefaults(table, row.insert));
    }
  }
  const byKey = (table: TableName) => (a: Values, b: Values) => {
    for (const column of tableMeta[table].key) {
      const x = a[column.prop] as string | number;
      const y = b[column.prop] as string | number;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
  for (const table of perBuildTables) rows[table].sort(byKey(table));
  return rows as unknown as BuildViewRows;
}

/** A created row as the database would store it: columns the reducers left out take their default (or null). */
function withDefaults(table: TableName, values: Values): Values {
  const out: Values = {};
  for (const [prop, column] of Object.entries(getTableColumns(projectionTables[table]))) {
    if (values[prop] !== undefined) out[prop] = values[prop];
    else out[prop] = column.hasDefault && column.default !== undefined && !is(column.default, SQL) ? column.default : null;
  }
  return out;
}

/** The build in Drone's JSON with its stages and steps, as `GET .../builds/{number}` answers. */
export function droneBuildJson(rows: Pick<BuildViewRows, 'builds' | 'stages' | 'steps'>) {
  const build = rows.builds[0];
  if (!build) return undefined;
  return {
    ...buildJson(build),
    stages: rows.stages.map((stage) => stageJson(stage, rows.steps.filter((step) => step.stage === stage.number))),
  };
}
