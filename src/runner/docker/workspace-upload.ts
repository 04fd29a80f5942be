import type Docker from 'dockerode';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { cloneRepository } from '../clone.ts';
import type { CloneSource, StageRun, StepExit, StepOutput } from '../engine.ts';
import { workspaceVolumeName } from './convert.ts';
import { directoryEntries, tarStream } from './tar.ts';

/**
 * Puts a host directory's tree into a stage's workspace volume. Docker writes into a volume
 * only through a container, and `putArchive` works on a container that was created and never
 * started — so the container's image needs no files, no shell and no git. That image,
 * `runlog/workspace-helper:1`, is made on the daemon itself from a one-file archive the first
 * time it is needed: no registry, nothing to pull, on any runner.
 */
export const HELPER_IMAGE = { repo: 'runlog/workspace-helper', tag: '1' } as const;
const helperImage = `${HELPER_IMAGE.repo}:${HELPER_IMAGE.tag}`;

const helperReady = new WeakMap<Docker, Promise<void>>();

/** Makes (once per daemon) the image of the never-started containers that reach into workspace volumes. */
export function ensureHelperImage(docker: Docker): Promise<void> {
  let ready = helperReady.get(docker);
  if (!ready) {
    ready = (async () => {
      try {
        await docker.getImage(helperImage).inspect();
        return;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      }
      const note = new TextEncoder().encode('runlog workspace helper: created, never started\n');
      const chunks: Uint8Array[] = [];
      for await (const chunk of tarStream([
        { type: 'file', path: 'runlog-helper', mode: 0o644, mtime: 0, size: note.length, content: async function* () { yield note; } },
      ])) {
        chunks.push(chunk);
      }
      const stream = await docker.importImage(Readable.from([Buffer.concat(chunks)]), { repo: HELPER_IMAGE.repo, tag: HELPER_IMAGE.tag });
      await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
      );
    })();
    // a failure is not remembered: the next stage tries again
    ready.catch(() => helperReady.delete(docker));
    helperReady.set(docker, ready);
  }
  return ready;
}

/** Copies `dir`'s contents (not `dir` itself) to the workspace path in the stage's workspace volume. */
export async function uploadToWorkspace(docker: Docker, run: StageRun, labels: Record<string, string>, dir: string): Promise<void> {
  await ensureHelperImage(docker);
  const container = await docker.createContainer({
    Image: helperImage,
    Cmd: ['/never-started'],
    Labels: labels,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      Mounts: [{ Type: 'volume', Source: workspaceVolumeName(run), Target: run.stage.workspace.path }],
    },
  });
  try {
    await container.putArchive(Readable.from(tarStream(directoryEntries(dir))), { path: run.stage.workspace.path });
  } finally {
    await container.remove({ force: true }).catch(() => {}); // labelled: destroy removes it if this fails
  }
}

/** The docker engine's clone step: git on the host into a temporary directory, then one upload into the volume. */
export async function cloneIntoVolume(request: {
  docker: Docker;
  run: StageRun;
  source: CloneSource;
  labels: Record<string, string>;
  output: StepOutput;
  signal: AbortSignal;
}): Promise<StepExit> {
  const { docker, run, source, output, signal } = request;
  const dir = await mkdtemp(join(tmpdir(), 'runlog-clone-'));
  try {
    const exit = await cloneRepository({ source, settings: run.stage.clone, dir, output, signal });
    if (exit.exitCode !== 0 || exit.killed) return exit;
    if (signal.aborted) return { exitCode: 137, killed: true };
    await uploadToWorkspace(docker, run, request.labels, dir);
    return exit;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
