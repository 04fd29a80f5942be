import Docker from 'dockerode';

/**
 * The test Docker daemon (scripts/services.sh starts it behind a dead proxy, so nothing is
 * ever pulled) and the local images scripts/test-images.sh makes.
 */
export const TEST_IMAGE = 'runlog-test/busybox:latest';

export const dockerSocket = process.env.RUNLOG_TEST_DOCKER_SOCK ?? '/var/run/docker.sock';

/** A client, or the reason the docker tests are skipped (no daemon, or the test image missing). */
export async function testDocker(): Promise<{ docker: Docker; skip?: undefined } | { docker?: undefined; skip: string }> {
  const docker = new Docker({ socketPath: dockerSocket });
  try {
    await docker.ping();
  } catch {
    return { skip: `no Docker daemon at ${dockerSocket} (run scripts/services.sh start)` };
  }
  try {
    await docker.getImage(TEST_IMAGE).inspect();
  } catch {
    return { skip: `image ${TEST_IMAGE} is missing (run scripts/test-images.sh)` };
  }
  return { docker };
}

/** Every container, network and volume carrying `label` (key=value), as "kind name" strings. */
export async function labelled(docker: Docker, label: string): Promise<string[]> {
  const filters = { label: [label] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return [
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`),
  ];
}

/** A client that records every API path it calls (to prove an image was never pulled). */
export function recordingDocker(): { docker: Docker; paths: string[] } {
  const paths: string[] = [];
  const docker = new Docker({ socketPath: dockerSocket });
  const modem = docker.modem as { dial: (options: { path: string }, callback: unknown) => unknown };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    paths.push(options.path);
    return dial(options, callback);
  };
  return { docker, paths };
}
