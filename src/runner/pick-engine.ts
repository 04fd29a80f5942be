import type { Engine } from './engine.ts';

/** `noop` is the benchmarks' engine (runs nothing; see noop/engine.ts). */
export type EngineChoice = 'auto' | 'docker' | 'exec' | 'noop';

/** Whether a Docker daemon answers on its socket within a second. */
async function dockerAnswers(): Promise<boolean> {
  const socketPath = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';
  try {
    const { default: Docker } = await import('dockerode');
    await Promise.race([new Docker({ socketPath }).ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref())]);
    return true;
  } catch {
    return false;
  }
}

/**
 * DESIGN.md: the embedded mode runs containers when a Docker socket answers, host processes otherwise.
 * Each engine is imported only when chosen: dockerode (with its ssh2, gRPC and protobuf
 * dependencies) is most of an idle runner's memory, and an exec or noop runner never needs it.
 */
export async function pickEngine(choice: EngineChoice, runner: string): Promise<Engine> {
  if (choice === 'noop') return (await import('./noop/engine.ts')).createNoopEngine();
  const kind = choice === 'auto' ? ((await dockerAnswers()) ? 'docker' : 'exec') : choice;
  return kind === 'docker' ? (await import('./docker/engine.ts')).createDockerEngine({ runner }) : (await import('./exec/engine.ts')).createExecEngine({ runner });
}
