import { z } from 'zod';
import { Conditions } from './conditions.ts';
import { EnvValue } from './plan.ts';
import { Lit } from './parse.ts';
import { asPlainText, byteSize, count, cpus, flag, optional, optionalText, requiredText, textList, textMap, typed } from './scalars.ts';

/**
 * The documents of a `.drone.yml`, as zod schemas (the types are inferred from them).
 * Field names and shapes follow Drone: drone/drone-yaml `yaml/pipeline.go` for the
 * server's view, drone-runners/drone-runner-docker `engine/resource/pipeline.go` and
 * drone-runner-exec `engine/resource/exec.go` for what the runners read. Objects are
 * strict so unknown fields can be reported; `validate.ts` turns those into warnings and
 * drops them, since Drone ignores them silently and the file must still run.
 */

/** `when`/`trigger`: go-yaml reads condition values as strings; a key with no value is no condition. */
const conditions = z.preprocess((value) => (value === null ? undefined : asPlainText(value)), Conditions.optional());

/**
 * An environment value (runner-go `manifest/env.go`): a scalar (as written; empty when
 * absent), `{ from_secret: name }`, or the long form `{ value: text }`.
 */
const EnvVar = z.preprocess(
  (value) => {
    if (value === null) return { value: '' };
    if (typeof value === 'string') return { value };
    if (value instanceof Lit) return { value: value.source };
    if (typeof value === 'object' && !Array.isArray(value)) {
      const { from_secret: secret, value: text } = value as Record<string, unknown>;
      if (secret !== undefined && secret !== null) return { secret: secret instanceof Lit ? secret.source : secret };
      if (text !== undefined) return { value: text instanceof Lit ? text.source : text === null ? '' : text };
    }
    return value;
  },
  z.union(EnvValue.options, { error: 'expected a value or { from_secret: name }' }),
);

export const Environment = optional(z.record(z.string(), EnvVar, { error: 'expected a map of NAME: value' }));

const VolumeMount = z.strictObject({ name: requiredText(), path: requiredText() });

/** Our extension: re-run a failed step, on any non-zero exit code or only the listed ones. */
const Retry = z.strictObject({
  limit: typed(z.number().int().min(1).max(10)),
  exit_codes: typed(z.array(typed(z.number().int())).optional()),
});

const ResourceObject = z.strictObject({ cpu: cpus, memory: byteSize });

/** drone-yaml's `resources` (Drone 1.0): limits and requests of CPU and memory. */
const Resources = z.strictObject({ limits: ResourceObject.optional(), requests: ResourceObject.optional() });

/** A docker step or service (drone-runner-docker `resource.Step`, plus drone-yaml's `resources`). */
export const DockerStep = z.strictObject({
  name: requiredText(),
  image: requiredText('required for type docker'),
  pull: optionalText,
  commands: textList,
  entrypoint: textList,
  command: textList,
  environment: Environment,
  settings: optional(z.record(z.string(), z.unknown(), { error: 'expected a map of settings' })),
  privileged: flag,
  detach: flag,
  failure: optionalText,
  depends_on: textList,
  when: conditions,
  volumes: optional(z.array(VolumeMount)),
  user: optionalText,
  working_dir: optionalText,
  network_mode: optionalText,
  shm_size: byteSize,
  mem_limit: byteSize,
  memswap_limit: byteSize,
  resources: optional(Resources),
  extra_hosts: textList,
  dns: textList,
  dns_search: textList,
  retry: optional(Retry),
});
export type DockerStep = z.infer<typeof DockerStep>;

/** An exec step runs its commands on the runner's host (drone-runner-exec `resource.Step`). */
export const ExecStep = z.strictObject({
  name: requiredText(),
  commands: textList,
  environment: Environment,
  detach: flag,
  failure: optionalText,
  depends_on: textList,
  when: conditions,
  retry: optional(Retry),
});
export type ExecStep = z.infer<typeof ExecStep>;

const Platform = z.strictObject({ os: optionalText, arch: optionalText, variant: optionalText, version: optionalText });
const Clone = z.strictObject({ disable: flag, depth: count, retries: count, skip_verify: flag, trace: flag });
const Workspace = z.strictObject({ base: optionalText, path: optionalText });

const TempVolume = z.strictObject({ medium: optionalText, size_limit: byteSize });
export const Volume = z.strictObject({
  name: requiredText(),
  // `temp:` written with nothing after it is still a temporary volume.
  temp: z.preprocess((v) => (v === null ? {} : v), TempVolume.optional()),
  host: optional(z.strictObject({ path: requiredText() })),
});
export type Volume = z.infer<typeof Volume>;


/** Fields every pipeline type shares; routing (`node`, `concurrency`) is the server's, so exec has them too. */
const pipelineBase = {
  kind: optionalText,
  type: optionalText,
  name: optionalText,
  version: z.unknown().optional(),
  platform: optional(Platform),
  node: textMap,
  clone: optional(Clone),
  workspace: optional(Workspace),
  trigger: conditions,
  depends_on: textList,
  concurrency: optional(z.strictObject({ limit: count })),
  // Drone's docker runner reads plain values only; `from_secret` here is our addition.
  environment: Environment,
};

export const DockerPipeline = z.strictObject({
  ...pipelineBase,
  steps: optional(z.array(DockerStep)),
  services: optional(z.array(DockerStep)),
  volumes: optional(z.array(Volume)),
  image_pull_secrets: textList,
});
export type DockerPipeline = z.infer<typeof DockerPipeline>;

export const ExecPipeline = z.strictObject({ ...pipelineBase, steps: optional(z.array(ExecStep)) });
export type ExecPipeline = z.infer<typeof ExecPipeline>;

/** `kind: secret` (runner-go `manifest/secret.go`): a secret read from an external store. */
export const SecretDocument = z.strictObject({
  kind: optionalText,
  type: optionalText,
  version: z.unknown().optional(),
  name: requiredText(),
  data: optionalText,
  get: optional(z.strictObject({ path: optionalText, name: optionalText, key: optionalText })),
});
export type SecretDocument = z.infer<typeof SecretDocument>;

/** `kind: signature` (runner-go `manifest/signature.go`). */
export const SignatureDocument = z.strictObject({
  kind: optionalText,
  type: optionalText,
  version: z.unknown().optional(),
  name: optionalText,
  hmac: requiredText('required: the signature of the file'),
});
export type SignatureDocument = z.infer<typeof SignatureDocument>;
