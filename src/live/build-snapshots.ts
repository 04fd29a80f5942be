// Each build event of a batch read from the log, paired with the build as it stood right
// after that event, in Drone's JSON (the same rows `GET .../builds/{number}` answers, built
// by the projections' own reducers: see audit/build-views.ts). Shared by the live build feed
// and the system webhooks, so both show every transition — also the ones a single projector
// batch would fold together — and a replay from any position shows the same thing.
import { buildViewRowsOf, droneBuildJson, projectedEvents } from '../audit/build-views.ts';
import { fromStored } from '../audit/history-event.ts';
import { checkpointOf, type Checkpoint } from '../events/checkpoint.ts';
import type { EventStore, StoredEvent } from '../events/event-store.ts';

export type DroneBuild = NonNullable<ReturnType<typeof droneBuildJson>>;

export interface BuildSnapshot {
  /** Of the event: where a follower resumes after it. */
  readonly checkpoint: Checkpoint;
  readonly position: string;
  readonly type: string;
  readonly streamVersion: number;
  readonly buildId: string;
  readonly repoId: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The build with its stages and steps after the event. */
  readonly build: DroneBuild;
  /** The build's status before the event ('' for its first). */
  readonly previousStatus: string;
}

const BUILD_STREAM = /^build-(.+)$/;

/** The snapshots of `batch`'s build events (of the builds `wanted` accepts), in log order. */
export async function buildSnapshots(
  store: Pick<EventStore, 'readStream'>,
  batch: readonly StoredEvent[],
  wanted: (buildId: string) => boolean = () => true,
): Promise<BuildSnapshot[]> {
  const highest = new Map<string, number>();
  for (const event of batch) {
    const buildId = BUILD_STREAM.exec(event.streamId)?.[1];
    if (buildId === undefined || !wanted(buildId)) continue;
    highest.set(event.streamId, Math.max(highest.get(event.streamId) ?? 0, event.streamVersion));
  }
  const folded = new Map<string, Map<number, { build: DroneBuild; previousStatus: string }>>();
  await Promise.all(
    [...highest].map(async ([streamId, toVersion]) => {
      const projected = projectedEvents((await store.readStream(streamId, { toVersion })).map(fromStored));
      const wantedVersions = new Set(batch.filter((event) => event.streamId === streamId).map((event) => event.streamVersion));
      const views = new Map<number, { build: DroneBuild; previousStatus: string }>();
      let previousStatus = '';
      for (let i = 0; i < projected.length; i += 1) {
        const version = projected[i]!.streamVersion;
        if (!wantedVersions.has(version) && !wantedVersions.has(version + 1)) continue;
        const build = droneBuildJson(buildViewRowsOf(projected.slice(0, i + 1)));
        if (!build) continue;
        if (wantedVersions.has(version)) views.set(version, { build, previousStatus });
        previousStatus = build.status;
      }
      folded.set(streamId, views);
    }),
  );
  const snapshots: BuildSnapshot[] = [];
  for (const event of batch) {
    const view = folded.get(event.streamId)?.get(event.streamVersion);
    if (!view) continue;
    snapshots.push({
      checkpoint: checkpointOf(event),
      position: event.globalPosition,
      type: event.type,
      streamVersion: event.streamVersion,
      buildId: BUILD_STREAM.exec(event.streamId)![1]!,
      repoId: view.build.repo_id,
      metadata: event.metadata,
      build: view.build,
      previousStatus: view.previousStatus,
    });
  }
  return snapshots;
}
