import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RepoSettings, type RepoEvent } from '../../src/events/repo-events.ts';
import { reposProjection } from '../../src/projections/repos-projection.ts';
import { repoCountersProjection } from '../../src/projections/repo-counters-projection.ts';
import { cmd, planOf, t } from '../events/fixtures.ts';
import { history } from '../events/decider-spec.ts';
import { given } from './projection-spec.ts';
import { applyOps, rowsOf, type MemoryTables } from './memory-tables.ts';
import { projected } from './projection-spec.ts';

const settings = RepoSettings.parse({ cloneUrl: 'https://example.test/octo/hello.git', timeout: 30 });
const activated: RepoEvent = { type: 'RepoActivated', data: { repoId: 'repo-1', owner: 'octo', name: 'hello', settings, by: 'alice', at: t(0) } };

describe('repos projection', () => {
  it('activation writes the row with its settings; an update changes only what it names; deactivation keeps the row', () => {
    const updated: RepoEvent = { type: 'RepoUpdated', data: { repoId: 'repo-1', changes: { trusted: true }, by: 'alice', at: t(5) } };
    const deactivated: RepoEvent = { type: 'RepoDeactivated', data: { repoId: 'repo-1', by: 'alice', at: t(9) } };
    assert.deepEqual(given(activated, updated, deactivated).when(reposProjection).rows('repos'), [
      {
        id: 'repo-1',
        owner: 'octo',
        name: 'hello',
        slug: 'octo/hello',
        ...settings,
        trusted: true,
        active: false,
        created: new Date(t(0)),
        updated: new Date(t(9)),
        version: 3,
      },
    ]);
  });

  it('activating again keeps the first created time', () => {
    const again: RepoEvent = { ...activated, data: { ...activated.data, at: t(50) } };
    const [row] = given(activated, { type: 'RepoDeactivated', data: { repoId: 'repo-1', by: 'a', at: t(9) } }, again).when(reposProjection).rows('repos');
    assert.deepEqual([row!.active, row!.created, row!.updated], [true, new Date(t(0)), new Date(t(50))]);
  });
});

describe('repo_counters projection', () => {
  it('counts builds and keeps the highest number, whatever order builds are created in', () => {
    const tables: MemoryTables = new Map();
    for (const [number, repoId] of [[2, 'repo-1'], [1, 'repo-1'], [1, 'repo-2'], [3, 'repo-1']] as const) {
      const events = projected(history(cmd.create(planOf({ name: 'build' }), { number, repoId })));
      applyOps(tables, events.flatMap((e) => (repoCountersProjection.handles.has(e.type) ? [...repoCountersProjection.reduce(e)] : [])));
    }
    assert.deepEqual(rowsOf(tables, 'repoCounters'), [
      { repoId: 'repo-1', lastNumber: 3, builds: 3 },
      { repoId: 'repo-2', lastNumber: 1, builds: 1 },
    ]);
  });
});
