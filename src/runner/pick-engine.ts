import Docker from 'dockerode';
import { createDockerEngine } from './docker/engine.ts';
import type { Engine } from './engine.ts';
import { createExecEngine } from './exec/engine.ts';
import { createNoopEngine } from './noop/engine.ts';

/** `noop` is the benchmarks' engine (runs nothing; see noop/engine.ts). */
export type EngineChoice = 'auto' | 'docker' | 'exec' | 'noop';

/** Whether a Docker daemon answers on its socket within a second. */
async function dockerAnswers(): Promise<boolean> {
  const socketPath = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';
  try {
    await Promise.race([new Docker({ socketPath }).ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref())]);
    return true;
  } catch {
    return false;
  }
}

/** DESIGN.md: the embedded mode runs containers when a Docker socket answers, host processes otherwise. */
export async function pickEngine(choice: EngineChoice, runner: string): Promise<Engine> {
  if (choice === 'noop') return createNoopEngine();
  const kind = choice === 'auto' ? ((await dockerAnswers()) ? 'docker' : 'exec') : choice;
  return kind === 'docker' ? createDockerEngine({ runner }) : createExecEngine({ runner });
}
