import type Docker from 'dockerode';
import { posix } from 'node:path';
import type { ImageBuild } from '../../pipeline/plan.ts';
import type { StageRun, StepExit, StepOutput } from '../engine.ts';
import { authFor, registryOf, workspaceVolumeName } from './convert.ts';
import { ensureHelperImage, HELPER_IMAGE } from './workspace-upload.ts';

/**
 * The image build step on the docker engine: the daemon's own build API (`POST /build`),
 * not Docker-in-Docker, so the step needs no privileges. The context is read straight out
 * of the stage's workspace volume (a never-started helper container's `getArchive` of
 * `<workspace>/<context>/.`) and streamed to the build; the first tag is built, the others
 * are added, and with `push` every tag goes to the registry. The registry's manifest
 * digest comes back in the push's progress stream and is returned as a `PublishImage`
 * record. `pull: false`: a base image that is already here is never refreshed from a
 * registry (what the image is built on stays what the runner has).
 *
 * A Dockerfile that fails, or a push the registry refuses, is a step failure (exit 1)
 * with the daemon's message in the log; the engine throws only when it cannot ask.
 */

export const USERNAME_ENV = 'REGISTRY_USERNAME';
export const PASSWORD_ENV = 'REGISTRY_PASSWORD';

export type ImageBuildRequest = {
  docker: Docker;
  run: StageRun;
  build: ImageBuild;
  /** The step's environment, secrets resolved (registry credentials). */
  env: Record<string, string>;
  labels: Record<string, string>;
  output: StepOutput;
  signal: AbortSignal;
};

/** The options of `POST /build`, pure: what tests check (`pull` stays false). */
export function buildOptions(build: ImageBuild, labels: Record<string, string>) {
  return {
    t: `${build.repo}:${build.tags[0]}`,
    dockerfile: build.dockerfile,
    pull: false,
    rm: true,
    forcerm: true,
    labels,
  };
}

export async function buildAndPush(request: ImageBuildRequest): Promise<StepExit> {
  const { docker, run, build, env, output, signal } = request;
  const say = (line: string) => output(new TextEncoder().encode(`${line}\n`));
  const failed = (message: string): StepExit => {
    say(message);
    return { exitCode: 1, killed: false };
  };
  const killed = (): StepExit => ({ exitCode: 137, killed: true });

  const contextPath = posix.join(run.stage.workspace.path, build.context);
  const context = await contextArchive(docker, run, request.labels, contextPath).catch((error: unknown) => {
    if (statusOf(error) === 404) return undefined;
    throw error;
  });
  if (!context) return failed(`build: the context ${build.context} is not in the workspace (${contextPath})`);
  if (signal.aborted) return killed();

  const image = `${build.repo}:${build.tags[0]}`;
  say(`building ${image} from ${posix.join(build.context, build.dockerfile)}`);
  let built: string | undefined;
  try {
    const stream = await docker.buildImage(context.stream as unknown as NodeJS.ReadableStream, { ...buildOptions(build, request.labels), abortSignal: signal });
    built = await follow(docker, stream, (event) => {
      if (typeof event.stream === 'string') output(new TextEncoder().encode(event.stream));
      const id = (event.aux as { ID?: string } | undefined)?.ID;
      return id;
    });
  } catch (error) {
    if (signal.aborted) return killed();
    return failed(`build failed: ${messageOf(error)}`);
  } finally {
    await context.done();
  }
  say(`built ${built ?? image}`);
  for (const tag of build.tags.slice(1)) await docker.getImage(image).tag({ repo: build.repo, tag });
  if (!build.push) {
    say(`not pushed: no registry is configured for this repository (tags: ${build.tags.join(', ')})`);
    return { exitCode: 0, killed: false };
  }

  const auth = credentials(build.repo, env, run);
  let digest: string | undefined;
  for (const tag of build.tags) {
    if (signal.aborted) return killed();
    say(`pushing ${build.repo}:${tag}`);
    try {
      const stream = await docker.getImage(`${build.repo}:${tag}`).push({ tag, ...(auth ? { authconfig: auth } : {}), abortSignal: signal });
      const pushed = await follow(docker, stream, (event) => {
        if (typeof event.status === 'string' && !event.progressDetail?.current) {
          output(new TextEncoder().encode(`${event.id ? `${event.id}: ` : ''}${event.status}\n`));
        }
        return (event.aux as { Digest?: string } | undefined)?.Digest;
      });
      digest ??= pushed;
    } catch (error) {
      if (signal.aborted) return killed();
      return failed(`push of ${build.repo}:${tag} failed: ${messageOf(error)}`);
    }
  }
  if (!digest) return failed(`the registry gave no digest for ${build.repo}`);
  say(`pushed ${build.repo}@${digest}`);
  return { exitCode: 0, killed: false, records: [{ type: 'PublishImage', data: { repo: build.repo, tags: build.tags, digest } }] };
}

/** The context folder as a tar stream, from a helper container on the workspace volume; `done` removes the helper. */
async function contextArchive(docker: Docker, run: StageRun, labels: Record<string, string>, path: string) {
  await ensureHelperImage(docker);
  const container = await docker.createContainer({
    Image: `${HELPER_IMAGE.repo}:${HELPER_IMAGE.tag}`,
    Cmd: ['/never-started'],
    Labels: labels,
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: workspaceVolumeName(run), Target: run.stage.workspace.path }] },
  });
  const done = () => container.remove({ force: true }).catch(() => {}); // labelled: destroy removes it otherwise
  try {
    // `<dir>/.`: the archive holds the folder's contents at its root, as a build context must
    const stream = await container.getArchive({ path: `${path}/.` });
    return { stream, done };
  } catch (error) {
    await done();
    throw error;
  }
}

type Progress = { stream?: string; status?: string; id?: string; error?: string; errorDetail?: { message?: string }; aux?: unknown; progressDetail?: { current?: number } };

/** Follows a build or push progress stream; errors inside it (how the daemon reports them) reject. Resolves with the last value `pick` found. */
function follow(docker: Docker, stream: NodeJS.ReadableStream, pick: (event: Progress) => string | undefined): Promise<string | undefined> {
  let found: string | undefined;
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : resolve(found)),
      (event: Progress) => {
        found = pick(event) ?? found;
      },
    );
  });
}

/** Registry credentials: the step's (secrets), else the stage's pull credentials for that registry. */
function credentials(repo: string, env: Record<string, string>, run: StageRun) {
  const username = env[USERNAME_ENV];
  const password = env[PASSWORD_ENV];
  if (username && password) return { username, password, serveraddress: registryOf(repo) };
  return authFor(repo, run.registryAuth);
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error ? Number(error.statusCode) : undefined;
}

function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const json = (error as { json?: { message?: string } }).json;
    if (json?.message) return json.message;
    if ('message' in error) return String(error.message);
  }
  return String(error);
}
