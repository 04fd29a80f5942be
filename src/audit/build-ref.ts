// Naming a build on the command line: `<owner/name> <number>` (as Drone's CLI does) or the
// build's id. Resolved to its stream through the views (fast, indexed) and confirmed against
// the stream itself — an audit tool must not trust a view to say which stream is which — with
// a scan of the log's BuildCreated events as the fallback when the views disagree or are gone.
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../events/database.ts';
import { events as eventsTable } from '../events/event-table.ts';
import { builds, repos } from '../projections/tables.ts';

export interface BuildRef {
  /** owner/name */
  readonly repo: string;
  readonly number: number;
}

/** Bad command-line input: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const SLUG = /^[^/\s]+\/[^/\s]+$/;

/** Reads `<owner/name> <number>`; throws UsageError that says what is expected. */
export function parseBuildRef(repo: string | undefined, build: string | undefined): BuildRef {
  if (repo === undefined || build === undefined) throw new UsageError('expected a repository and a build number, like: octocat/hello 42');
  if (!SLUG.test(repo)) throw new UsageError(`expected the repository as owner/name, got ${JSON.stringify(repo)}`);
  const number = Number(build.replace(/^#/, ''));
  if (!/^#?[0-9]+$/.test(build) || !Number.isSafeInteger(number) || number < 1) {
    throw new UsageError(`expected a build number (1, 2, ...), got ${JSON.stringify(build)}`);
  }
  return { repo, number };
}

export const describeRef = (ref: BuildRef) => `${ref.repo}#${ref.number}`;

/** The build's stream id, or undefined when the log has no such build. */
export async function findBuildStream(database: Database, ref: BuildRef): Promise<string | undefined> {
  const [owner, name] = ref.repo.split('/') as [string, string];
  const [viewed] = await database.db
    .select({ id: builds.id })
    .from(builds)
    .innerJoin(repos, eq(repos.id, builds.repoId))
    .where(and(eq(repos.slug, `${owner}/${name}`), eq(builds.number, ref.number)))
    .limit(1);
  if (viewed) {
    const streamId = `build-${viewed.id}`;
    const [first] = await database.db
      .select({ data: eventsTable.data })
      .from(eventsTable)
      .where(and(eq(eventsTable.streamId, streamId), eq(eventsTable.streamVersion, 1), eq(eventsTable.type, 'BuildCreated')));
    const data = first?.data as { repo?: unknown; number?: unknown } | undefined;
    if (data?.repo === ref.repo && data.number === ref.number) return streamId;
  }
  const [found] = await database.db
    .select({ streamId: eventsTable.streamId })
    .from(eventsTable)
    .where(and(eq(eventsTable.type, 'BuildCreated'), sql`${eventsTable.data}->>'repo' = ${ref.repo}`, sql`${eventsTable.data}->>'number' = ${String(ref.number)}`))
    .orderBy(asc(eventsTable.globalPosition))
    .limit(1);
  return found?.streamId;
}
