import Docker from 'dockerode';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import type { PlanStep } from '../../pipeline/plan.ts';
import type { Engine, StageRun, StepExit, StepOutput, StepRun } from '../engine.ts';
import {
  authFor,
  containerSpec,
  keptVolumeName,
  LABEL,
  networkName,
  networkOptions,
  type NetworkPolicy,
  stepEnvironment,
  stepLabels,
  trustProblems,
  untrustedError,
  usesStageNetwork,
  volumeOptions,
  workspaceVolumeName,
} from './convert.ts';
import { createDemuxer } from './demux.ts';
import { buildAndPush } from './image-build.ts';
import { tarStream } from './tar.ts';
import { cloneIntoVolume } from './workspace-upload.ts';

export type DockerEngineOptions = {
  /** Docker's unix socket; default DOCKER_HOST's when it is a unix:// address, else /var/run/docker.sock. */
  socketPath?: string;
  /** A ready client instead (tests wrap one to watch its calls). */
  docker?: Docker;
  /** This runner's name, in every resource's `runlog.runner` label (what `sweep` looks for); default the host name. */
  runner?: string;
  /** Which stages get a network of their own (see `NetworkPolicy`); default 'per-stage'. */
  network?: NetworkPolicy;
};

/** Exit code reported for a step stopped by its signal before or while it ran: SIGKILL's, as docker reports it. */
const KILLED = 137;

/** What one engine instance knows about a stage while it runs (the daemon's labels are the durable truth). */
type StageState = {
  /** Set by destroy: steps still being created stop, and steps it kills report `killed`. */
  destroying: boolean;
  /** runStep calls between "about to create" and "started", which destroy waits out before listing. */
  starting: Set<Promise<unknown>>;
  /** Removals of finished steps' containers, running while the next step does; destroy waits for them. */
  removals: Set<Promise<unknown>>;
};

/**
 * The docker engine: one user-defined bridge network per stage (steps and services resolve
 * each other by step name), one workspace volume mounted at the workspace path, one
 * container per step. See `engine.ts` for the contract and `convert.ts` for the mapping.
 */
export function createDockerEngine(options: DockerEngineOptions = {}): Engine {
  const docker = options.docker ?? new Docker({ socketPath: options.socketPath ?? defaultSocket() });
  const runner = options.runner ?? hostname();
  const networkPolicy = options.network ?? 'per-stage';
  const stages = new Map<string, StageState>();
  const state = (run: StageRun): StageState => {
    let found = stages.get(run.runId);
    if (!found) stages.set(run.runId, (found = { destroying: false, starting: new Set(), removals: new Set() }));
    return found;
  };

  async function setup(run: StageRun, signal: AbortSignal): Promise<void> {
    const problems = trustProblems(run);
    if (problems.length > 0) throw untrustedError(run, problems);
    signal.throwIfAborted();
    state(run);
    const volumes = volumeOptions(run, runner).map(async (volume) => {
      // a resumed stage reuses its workspace: creating an existing volume keeps its old labels, so only create when absent
      if (run.workspaceKey && volume.Name === workspaceVolumeName(run)) {
        const exists = await docker
          .getVolume(volume.Name)
          .inspect()
          .then(
            () => true,
            (error: unknown) => (statusOf(error) === 404 ? false : Promise.reject(error)),
          );
        if (exists) {
          await stopOrphans(volume.Name!, run.runId);
          return;
        }
      }
      await docker.createVolume({ ...volume, abortSignal: signal });
    });
    const network = usesStageNetwork(run, networkPolicy) ? [docker.createNetwork(networkOptions(run, runner))] : [];
    await Promise.all([...network, ...volumes]);
  }

  /**
   * A resume after a lost runner (kill -9, a dead host) takes over a workspace whose
   * containers may still run: the lease fenced that attempt off, so they only race the
   * steps about to run on the same files. Removed before anything starts on it.
   */
  async function stopOrphans(volumeName: string, runId: string): Promise<void> {
    const users = await docker.listContainers({ all: true, filters: { volume: [volumeName] } });
    await Promise.all(
      users
        .filter((info) => info.Labels?.[LABEL.run] !== runId)
        .map((info) =>
          docker
            .getContainer(info.Id)
            .remove({ force: true })
            .catch((error: unknown) => {
              if (statusOf(error) !== 404) throw error;
            }),
        ),
    );
  }

  async function runStep(run: StageRun, stepRun: StepRun, output: StepOutput, signal: AbortSignal): Promise<StepExit> {
    const { step } = stepRun;
    const stage = state(run);
    if (signal.aborted || stage.destroying) return { exitCode: KILLED, killed: true };
    if (step.kind === 'clone') return cloneStep(run, step, output, signal);
    if (step.build) {
      return buildAndPush({ docker, run, build: step.build, env: stepEnvironment(stepRun), labels: stepLabels(run, runner, step), output, signal });
    }

    const spec = containerSpec(run, stepRun, runner, networkPolicy);
    let started!: (value?: unknown) => void;
    const starting = new Promise((resolve) => (started = resolve));
    stage.starting.add(starting);
    let container: Docker.Container;
    let ended!: Promise<StepExit>;
    try {
      try {
        container = await createContainer(run, stage, step, spec.options, signal);
      } catch (error) {
        if (signal.aborted) return { exitCode: KILLED, killed: true }; // a pull the signal cut short
        throw error;
      }
      if (spec.file) {
        const { dir, name, content, mode } = spec.file;
        const bytes = new TextEncoder().encode(content);
        const entry = { type: 'file' as const, path: name, mode, mtime: Math.floor(Date.now() / 1000), size: bytes.length };
        await container.putArchive(Readable.from(tarStream([{ ...entry, content: async function* () { yield bytes; } }])), {
          path: dir,
        });
      }
      if (signal.aborted || stage.destroying) return { exitCode: KILLED, killed: true };
      // attach before start: nothing the step writes can be missed, and the log driver does not matter
      const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      const streamed = pipeOutput(stream, output);
      streamed.catch(() => {}); // awaited below; if start fails it never is, and must not crash the runner
      let killedBySignal = false;
      const onAbort = () => {
        killedBySignal = true;
        container.kill().catch(() => {}); // already gone or stopped: nothing to kill
      };
      await container.start().catch((error: unknown) => {
        throw new Error(`step ${step.name} could not start: ${messageOf(error)}`);
      });
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      ended = (async () => {
        try {
          const [result] = await Promise.all([container.wait() as Promise<{ StatusCode: number }>, streamed]);
          const exitCode = result.StatusCode;
          const killed = killedBySignal || (stage.destroying && exitCode === KILLED);
          if (exitCode === KILLED && !killed) {
            const info = await container.inspect().catch(() => undefined);
            if (info?.State.OOMKilled) return { exitCode, killed, oomKilled: true };
          }
          return { exitCode, killed };
        } catch (error) {
          // destroy removed the container under a detached step: that is how detached steps end
          if (stage.destroying) return { exitCode: KILLED, killed: true };
          throw error;
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
      })();
    } finally {
      stage.starting.delete(starting);
      started();
    }
    if (step.kind === 'service' || step.detach) {
      ended.catch(() => {}); // the caller may never look; a failure then has nowhere to go
      return { exitCode: 0, killed: false, ended };
    }
    try {
      return await ended;
    } finally {
      // a finished step's container goes now, alongside the next step, rather than all at destroy
      const removal = container.remove({ force: true, v: true }).catch(() => {}); // labelled: destroy retries
      stage.removals.add(removal);
      removal.then(() => stage.removals.delete(removal));
    }
  }

  /** Creates the step's container, applying the pull policy on the way. */
  async function createContainer(
    run: StageRun,
    stage: StageState,
    step: PlanStep,
    options: Docker.ContainerCreateOptions & { name: string },
    signal: AbortSignal,
  ) {
    if (step.pull === 'always') await pull(run, step.image, signal);
    let pulled = step.pull === 'always';
    let replaced = false;
    for (;;) {
      try {
        return await docker.createContainer(options);
      } catch (error) {
        const status = statusOf(error);
        if (status === 404 && !pulled && /no such image/i.test(messageOf(error))) {
          if (step.pull === 'never') throw new Error(`image ${step.image} is not on this runner and pull is never`);
          await pull(run, step.image, signal);
          pulled = true;
        } else if (status === 409 && !replaced) {
          // the step ran before in this stage (a retry): its old container, maybe being removed already, makes way
          replaced = true;
          await Promise.allSettled(stage.removals);
          await docker
            .getContainer(options.name)
            .remove({ force: true, v: true })
            .catch((removeError: unknown) => (statusOf(removeError) === 404 ? undefined : Promise.reject(removeError)));
        } else {
          throw error;
        }
      }
    }
  }

  async function pull(run: StageRun, image: string, signal: AbortSignal): Promise<void> {
    const auth = authFor(image, run.registryAuth);
    let stream: NodeJS.ReadableStream;
    try {
      // docker-modem sends `authconfig` as the X-Registry-Auth header and keeps it (and the signal) out of the URL
      stream = await docker.pull(image, { ...(auth ? { authconfig: auth } : {}), abortSignal: signal });
    } catch (error) {
      throw new Error(`pulling image ${image} failed: ${messageOf(error)}`);
    }
    // a pull reports its errors inside the progress stream, not as an HTTP status
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null) =>
        error ? reject(new Error(`pulling image ${image} failed: ${error.message}`)) : resolve(),
      ),
    );
  }

  async function cloneStep(run: StageRun, step: PlanStep, output: StepOutput, signal: AbortSignal): Promise<StepExit> {
    if (!run.clone) throw new Error(`stage ${run.stage.name} has a clone step but the runner gave it no clone source (StageRun.clone)`);
    return cloneIntoVolume({ docker, run, source: run.clone, labels: stepLabels(run, runner, step), output, signal });
  }

  async function destroy(run: StageRun, destroyOptions: { keepWorkspace?: boolean } = {}): Promise<void> {
    const stage = state(run);
    stage.destroying = true;
    await Promise.allSettled([...stage.starting, ...stage.removals]);
    const failures: string[] = [];
    await removeLabelled(`${LABEL.run}=${run.runId}`, failures, {
      volumes: [workspaceVolumeName(run)],
      networks: [networkName(run)],
      keepVolume: destroyOptions.keepWorkspace ? workspaceVolumeName(run) : undefined,
    });
    stages.delete(run.runId);
    if (failures.length > 0) throw new Error(`destroy of stage ${run.stage.name} (${run.runId}) left: ${failures.join('; ')}`);
  }

  async function sweep(sweepOptions: { runner?: string } = {}): Promise<string[]> {
    const failures: string[] = [];
    const removed = await removeLabelled(`${LABEL.runner}=${sweepOptions.runner ?? runner}`, failures, {});
    if (failures.length > 0) throw new Error(`sweep removed ${removed.length} resources but not: ${failures.join('; ')}`);
    return removed;
  }

  /**
   * Removes containers (killing them), then networks, then volumes carrying `label`, plus the
   * named ones (found by name when a label would miss them: a reused workspace). Every
   * removal is tried; "already gone" is success.
   */
  async function removeLabelled(
    label: string,
    failures: string[],
    extra: { volumes?: string[]; networks?: string[]; keepVolume?: string },
  ): Promise<string[]> {
    const removed: string[] = [];
    const filters = { label: [label] };
    const attempt = async (what: string, remove: () => Promise<unknown>) => {
      try {
        await remove();
        removed.push(what);
      } catch (error) {
        if (statusOf(error) !== 404) failures.push(`${what}: ${messageOf(error)}`);
      }
    };
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.all(
      containers.map((info) =>
        attempt(`container ${info.Names[0]?.replace(/^\//, '') ?? info.Id}`, () =>
          docker.getContainer(info.Id).remove({ force: true, v: true }),
        ),
      ),
    );
    const networks = new Set([...(extra.networks ?? []), ...(await docker.listNetworks({ filters })).map((n) => n.Name)]);
    await Promise.all([...networks].map((name) => attempt(`network ${name}`, () => docker.getNetwork(name).remove())));
    const listed = (await docker.listVolumes({ filters })).Volumes ?? [];
    const volumes = new Set([...(extra.volumes ?? []), ...listed.map((v) => v.Name)]);
    volumes.delete(extra.keepVolume ?? '');
    await Promise.all([...volumes].map((name) => attempt(`volume ${name}`, () => docker.getVolume(name).remove({ force: true }))));
    return removed;
  }

  const keptVolume = (key: string) => docker.getVolume(keptVolumeName(key));
  const workspaces = {
    has: (key: string) =>
      keptVolume(key)
        .inspect()
        .then(
          () => true,
          (error: unknown) => (statusOf(error) === 404 ? false : Promise.reject(error)),
        ),
    async remove(key: string) {
      await keptVolume(key)
        .remove({ force: true })
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
    },
  };

  return { kind: 'docker', setup, runStep, destroy, sweep, workspaces };
}

/** Demuxes the attach stream into `output`; resolves when the container's output ends. */
function pipeOutput(stream: NodeJS.ReadableStream, output: StepOutput): Promise<void> {
  const demuxer = createDemuxer((payload) => output(payload));
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
    stream.on('end', () => resolve());
    stream.on('close', () => resolve());
    stream.on('error', reject);
  });
}

function defaultSocket(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
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

