import type { Database } from '../../src/events/database.ts';
import { RepoSettings } from '../../src/events/repo-events.ts';
import { createBuild } from '../../src/server/create-build.ts';

/** A custom build of `acme/<name>` at main with the given .drone.yml, made straight in the log (no API, no forge). */
export const createCustomBuild = (database: Database, repo: { id: string; name: string }, config: string) =>
  createBuild(database, {
    repo: { id: repo.id, owner: 'acme', name: repo.name, settings: RepoSettings.parse({}) },
    trigger: { event: 'custom', ref: 'refs/heads/main', branch: 'main', commit: 'a'.repeat(40), after: 'a'.repeat(40), sender: 'test' },
    config: { path: '.drone.yml', text: config },
    createdBy: 'test',
    system: { host: 'x', proto: 'http', version: 'test' },
    at: new Date(),
  });
