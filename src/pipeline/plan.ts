import { z } from 'zod';

/**
 * The build plan: what `.drone.yml` compiles to, JSON-serialisable, stored in
 * `BuildCreated`. The runner executes only this; it never sees YAML. Conditions other
 * than `status` are already evaluated here (a step or stage they exclude carries `skip`);
 * `status` is a run-time policy (`runsOn`). Secret values never appear: only names.
 */

/** An environment value: plain text, or the name of a secret resolved by the runner. */
export const EnvValue = z.union([
  z.object({ value: z.string() }).strict(),
  z.object({ secret: z.string().min(1) }).strict(),
]);
export type EnvValue = z.infer<typeof EnvValue>;

export const Skip = z.object({
  /** Which condition excluded it: 'branch', 'event', 'ref', 'repo', 'instance', 'target', 'cron', 'action', 'paths', or 'dependency'. */
  condition: z.string(),
  /** In words: "branch 'dev' does not match include [main]". */
  reason: z.string(),
});
export type Skip = z.infer<typeof Skip>;

/** Which outcome of the steps (or pipelines) before it lets this one run: Drone's `when.status`. */
export const RunsOn = z.array(z.enum(['success', 'failure'])).min(1);

export const VolumeMount = z.object({ name: z.string(), path: z.string() });

export const PlanVolume = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('temp'),
    name: z.string(),
    medium: z.enum(['', 'memory']).default(''),
    /** Drone's `temp.size_limit`, in bytes; absent = no limit. */
    sizeLimit: z.number().int().nonnegative().optional(),
  }),
  z.object({ kind: z.literal('host'), name: z.string(), path: z.string() }),
]);
export type PlanVolume = z.infer<typeof PlanVolume>;

/**
 * An image build and push the runner does itself (the docker engine's build API, no
 * Docker-in-Docker): the context is a directory of the workspace. Registry credentials,
 * when any, come in the step's environment as `REGISTRY_USERNAME`/`REGISTRY_PASSWORD`
 * (secrets by name in the plan).
 */
export const ImageBuild = z.object({
  /** The build context, relative to the workspace path ('.' = the workspace itself). */
  context: z.string(),
  /** The Dockerfile, relative to the context. */
  dockerfile: z.string(),
  /** The image name without tag: `<registry>/<owner>/<name>`. */
  repo: z.string().min(1),
  /** Every tag given to the built image; the first is the one later steps run (`BUILT_IMAGE`). */
  tags: z.array(z.string().min(1)).min(1),
  /** Push every tag to the repo's registry; false when no registry is configured (the image stays on the runner). */
  push: z.boolean(),
});
export type ImageBuild = z.infer<typeof ImageBuild>;

/**
 * A Kubernetes deployment whose containers get a new image, through the API server's
 * HTTP API: a strategic-merge PATCH, then the rollout watched until done or `timeoutSeconds`.
 * The bearer token comes in the step's environment as `KUBERNETES_TOKEN` (a secret by name in the plan).
 */
export const KubernetesDeploy = z.object({
  /** API server base URL, `https://host:port`. */
  host: z.string().min(1),
  /** A name for the cluster, for the record. */
  cluster: z.string().default(''),
  namespace: z.string().min(1),
  deployment: z.string().min(1),
  containers: z.array(z.string().min(1)).min(1),
  image: z.string().min(1),
  timeoutSeconds: z.number().int().positive().default(300),
});
export type KubernetesDeploy = z.infer<typeof KubernetesDeploy>;

export const PlanStep = z.object({
  /** 1-based position in the stage, Drone's `step.number`: the clone step (when enabled) first, then services, then steps. */
  number: z.number().int().positive(),
  name: z.string(),
  kind: z.enum(['clone', 'service', 'step']),
  image: z.string(),
  pull: z.enum(['always', 'never', 'if-not-exists', 'default']).default('default'),
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  /** The `commands`, as they were written. */
  commands: z.array(z.string()).default([]),
  /** The `commands` turned into one shell script (`set -e`, `+ cmd` traces); absent when none. */
  script: z.string().optional(),
  /** Everything the step's process gets, `DRONE_*` and `PLUGIN_*` included. */
  environment: z.record(z.string(), EnvValue).default({}),
  privileged: z.boolean().default(false),
  detach: z.boolean().default(false),
  /** 'ignore': a failure of this step does not fail the stage. */
  failure: z.enum(['always', 'ignore']).default('always'),
  /**
   * Names of steps (or services) in this stage that must end first; empty = may start at
   * once. The compiler writes Drone's serial default out (each step after the previous
   * one, services included) and, in graph mode, `clone` for steps that name nothing.
   * A detached step or service counts as ended once it has started.
   */
  dependsOn: z.array(z.string()).default([]),
  runsOn: RunsOn.default(['success']),
  skip: Skip.optional(),
  volumes: z.array(VolumeMount).default([]),
  user: z.string().optional(),
  workingDir: z.string().optional(),
  networkMode: z.string().optional(),
  shmSize: z.number().int().nonnegative().optional(),
  /** CPU shares / limits and memory limit in bytes. */
  resources: z
    .object({
      cpuShares: z.number().int().nonnegative().optional(),
      cpuLimit: z.number().nonnegative().optional(),
      memLimit: z.number().int().nonnegative().optional(),
      memSwapLimit: z.number().int().optional(),
    })
    .default({}),
  extraHosts: z.array(z.string()).default([]),
  dns: z.array(z.string()).default([]),
  dnsSearch: z.array(z.string()).default([]),
  /** More names the step's container answers to on the stage network (caicloud `links`). */
  aliases: z.array(z.string()).optional(),
  /** Not a container: the runner builds and pushes an image (see `ImageBuild`). */
  build: ImageBuild.optional(),
  /** Not a container: the runner updates a Kubernetes deployment (see `KubernetesDeploy`). */
  deploy: KubernetesDeploy.optional(),
  /** runlog's extension: re-run on these exit codes (any non-zero when empty), up to `limit` times. */
  retry: z.object({ limit: z.number().int().min(1).max(10), exitCodes: z.array(z.number().int()).default([]) }).optional(),
});
export type PlanStep = z.infer<typeof PlanStep>;

export const Platform = z.object({
  os: z.string().default('linux'),
  arch: z.string().default('amd64'),
  variant: z.string().default(''),
  version: z.string().default(''),
  kernel: z.string().default(''),
});
export type Platform = z.infer<typeof Platform>;

export const PlanStage = z.object({
  /** 1-based, in dependency order; Drone's `stage.number`. */
  number: z.number().int().positive(),
  name: z.string(),
  type: z.enum(['docker', 'exec']),
  platform: Platform,
  /** `node:` labels; a runner must have exactly these. */
  labels: z.record(z.string(), z.string()).default({}),
  /** Names of stages (pipelines) that must end first. */
  dependsOn: z.array(z.string()).default([]),
  /** `trigger.status`: which outcome of the dependencies lets it run. */
  runsOn: RunsOn.default(['success']),
  skip: Skip.optional(),
  /** `path`: the directory steps start in (`DRONE_WORKSPACE`); `base`: where the workspace volume is mounted (Drone's `workspace.base`). */
  workspace: z.object({ path: z.string(), base: z.string().default('/drone/src') }),
  clone: z.object({
    disable: z.boolean().default(false),
    depth: z.number().int().nonnegative().default(0),
    retries: z.number().int().nonnegative().default(0),
    skipVerify: z.boolean().default(false),
    tags: z.boolean().default(false),
  }),
  concurrency: z.object({ limit: z.number().int().positive() }).optional(),
  volumes: z.array(PlanVolume).default([]),
  imagePullSecrets: z.array(z.string()).default([]),
  /** Services (detached, started first); `kind: 'service'`. */
  services: z.array(PlanStep).default([]),
  /** The clone step (when enabled) then the pipeline's steps; `dependsOn` forms a DAG. */
  steps: z.array(PlanStep),
  /** Every secret name the stage references (env, settings, pull secrets). */
  secrets: z.array(z.string()).default([]),
});
export type PlanStage = z.infer<typeof PlanStage>;

/** `kind: secret` documents: a secret whose value lives in an external store. */
export const ExternalSecret = z.object({ name: z.string(), path: z.string(), key: z.string() });

export const Plan = z.object({
  version: z.literal(1),
  stages: z.array(PlanStage),
  externalSecrets: z.array(ExternalSecret).default([]),
  /** Raw `kind: signature` hmac, kept for the signature check. */
  signature: z.string().optional(),
});
export type Plan = z.infer<typeof Plan>;
export type PlanInput = z.input<typeof Plan>;
