/**
 * Where one runlog installation lives on a NATS server: its stage stream and the subjects
 * of its offers and cancel hints. Servers and runners of one installation must agree, and
 * two installations (or two test runs) sharing a nats-server must not, or a runner of one
 * would pull the other's stages: `RUNLOG_NATS_NAMESPACE` separates them.
 */
export type NatsNamespace = {
  /** JetStream stream of the stage offers. */
  stream: string;
  /** Offers go to `<stagesPrefix>.<os>.<arch>.<pool-key>`. */
  stagesPrefix: string;
  /** Cancel hints go to `<cancelPrefix>.<buildId>` (core NATS, not persisted). */
  cancelPrefix: string;
};

export const DEFAULT_NATS_NAMESPACE = 'runlog';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** `runlog` gives the stream `RUNLOG_STAGES` on `runlog.stages.>` and cancel hints on `runlog.cancel.<build>`. */
export function natsNamespace(name: string = DEFAULT_NATS_NAMESPACE): NatsNamespace {
  if (!NAME.test(name)) {
    throw new Error(`RUNLOG_NATS_NAMESPACE must be 1–64 letters, digits, '-' or '_', got '${name.slice(0, 70)}'`);
  }
  return {
    stream: `${name.replaceAll('-', '_').toUpperCase()}_STAGES`,
    stagesPrefix: `${name}.stages`,
    cancelPrefix: `${name}.cancel`,
  };
}

/** The namespace from RUNLOG_NATS_NAMESPACE (default `runlog`). */
export const natsNamespaceFromEnv = (env: NodeJS.ProcessEnv = process.env) => natsNamespace(env.RUNLOG_NATS_NAMESPACE || DEFAULT_NATS_NAMESPACE);
