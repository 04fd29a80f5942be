// The `repo_counters` view: per repository, the highest build number its builds carry and
// how many builds it has. The number in `BuildCreated` is authoritative (createBuild hands
// them out gap-free); this view only counts what the log holds.
import type { Projection, ProjectedEvent } from './projection.ts';
import { upsert, type RowOp } from './row-ops.ts';

function reduce(event: ProjectedEvent): RowOp[] {
  if (event.type !== 'BuildCreated') return [];
  return [upsert('repoCounters', { repoId: event.data.repoId }, { max: { lastNumber: event.data.number }, add: { builds: 1 } })];
}

export const repoCountersProjection: Projection = {
  name: 'repo_counters',
  tables: ['repoCounters'],
  handles: new Set(['BuildCreated']),
  reduce,
};
