// A real image registry on loopback for the image build tests: Debian's `docker-registry`
// (distribution), one per caller, storing under the caller's folder. Plain HTTP on
// 127.0.0.1, which the daemon trusts without configuration.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type LoopbackRegistry = {
  /** `127.0.0.1:port`, as a registry setting or `--registry` takes it. */
  host: string;
  /** Stops the registry (its storage stays in the folder, which the caller removes). */
  stop(): void;
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a registry storing under `<dir>/registry` and resolves once `/v2/` answers (15 s at most). */
export async function startRegistry(dir: string): Promise<LoopbackRegistry> {
  const host = `127.0.0.1:${await freePort()}`;
  await mkdir(join(dir, 'registry'), { recursive: true });
  const config = join(dir, 'registry.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: ${host}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const stop = () => void child.kill('SIGTERM');
  for (let i = 0; ; i++) {
    if (await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false)) return { host, stop };
    if (i > 150 || child.exitCode !== null) {
      stop();
      throw new Error(`docker-registry did not answer at ${host} within 15 s`);
    }
    await sleep(100);
  }
}
