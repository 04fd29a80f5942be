// Given/when/then for projections: given a build's (or repo's) events, when a projection
// reduces them, then these row operations — or these rows, applied in memory.
import assert from 'node:assert/strict';
import { BuildEvent, buildEventTypes } from '../../src/events/build-events.ts';
import { evolve, initialState, isBuild, type BuildState } from '../../src/events/build-state.ts';
import type { RepoEvent } from '../../src/events/repo-events.ts';
import type { ProjectedEvent, Projection } from '../../src/projections/projection.ts';
import type { RowOp } from '../../src/projections/row-ops.ts';
import type { TableName } from '../../src/projections/tables.ts';
import { applyOps, rowsOf, type MemoryTables, type Row } from './memory-tables.ts';

const buildTypes: ReadonlySet<string> = new Set(buildEventTypes);

/** The events as the feed delivers them: positions in order, each build event with its folded build. */
export function projected(events: ReadonlyArray<BuildEvent | RepoEvent>, streamId = 'build-1'): ProjectedEvent[] {
  let state: BuildState = initialState();
  return events.flatMap((event, i): ProjectedEvent[] => {
    const position = { streamId, streamVersion: i + 1, globalPosition: String(i + 1), transactionId: String(100 + i) };
    if (!buildTypes.has(event.type)) return [{ ...(event as RepoEvent), ...position }];
    state = evolve(state, event as BuildEvent);
    return isBuild(state) ? [{ ...(event as BuildEvent), ...position, build: state }] : [];
  });
}

export function given(...history: Array<BuildEvent | RepoEvent | ReadonlyArray<BuildEvent | RepoEvent>>) {
  const before = history.flat();
  return {
    when(projection: Projection, ...more: Array<BuildEvent | RepoEvent>) {
      const all = projected([...before, ...more]);
      const reduce = (events: ProjectedEvent[]) => events.filter((e) => projection.handles.has(e.type)).flatMap((e) => [...projection.reduce(e)]);
      const earlier = reduce(all.slice(0, all.length - more.length));
      const latest = more.length === 0 ? earlier : reduce(all.slice(all.length - more.length));
      return {
        /** The operations of the `when` events (of all events when none are given there). */
        thenOps(expected: RowOp[]): void {
          assert.deepEqual(latest, expected);
        },
        ops: () => latest,
        /** Every event applied in memory: the table's rows. */
        rows(table: TableName): Row[] {
          const tables: MemoryTables = new Map();
          applyOps(tables, more.length === 0 ? earlier : [...earlier, ...latest]);
          return rowsOf(tables, table);
        },
      };
    },
  };
}
