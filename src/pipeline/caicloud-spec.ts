import { z } from 'zod';
import { count, optional, optionalText, requiredText, textList } from './scalars.ts';

/**
 * `caicloud.yml`, the config of Caicloud's Cyclone (v0.x), as zod schemas: one map with up
 * to five stage sections run in this order — `pre_build` (compile in a container; its
 * `outputs` are kept for the image), `build` (a Dockerfile build, pushed to the repo's
 * registry), `integration` (the new image tested with services), `post_build`, `deploy`
 * (Kubernetes deployments get the new image). Unlike `.drone.yml`, there is no Drone to
 * stay compatible with: an unknown key is an error, not a warning.
 *
 * `environment` is read by `caicloud-compile.ts` (it takes Cyclone's `KEY=value` list,
 * with or without spaces around `=`, and a map with `from_secret`), so it is left open here.
 */

/** The image a service or the integration step names to run what `build` just made. */
export const BUILT_IMAGE = 'BUILT_IMAGE';

export const STAGE_KEYS = ['pre_build', 'build', 'integration', 'post_build', 'deploy'] as const;

const environment = z.unknown().optional();

/** `{ from_secret: name }`: the only way a credential may be written (the plan is stored in the build's events). */
export const SecretRef = z.strictObject({ from_secret: requiredText() });

export const PreBuild = z.strictObject({
  image: requiredText('required: the image pre_build runs in'),
  commands: textList,
  environment,
  /** `host:container`; `.` as the host side mounts the source there (the stage's workspace moves with it). */
  volumes: textList,
  /** Files or folders (relative to the source, or absolute in the container) copied into the build context. */
  outputs: textList,
});

export const Build = z.strictObject({
  context_dir: optionalText,
  dockerfile_name: optionalText,
  /** runlog's extension: registry credentials, as secrets. */
  username: optional(SecretRef),
  password: optional(SecretRef),
});

export const Service = z.strictObject({
  image: requiredText('required: the image the service runs (BUILT_IMAGE for the one build made)'),
  environment,
  commands: textList,
});

export const Integration = z.strictObject({
  /** runlog's extension: the image the commands run in; default BUILT_IMAGE, as in Cyclone. */
  image: optionalText,
  services: optional(z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a service name is letters, digits, ., _ and -'), Service)),
  /** `service` or `service:alias`: the service also answers to the alias. */
  links: textList,
  environment,
  commands: textList,
});

export const PostBuild = z.strictObject({
  image: requiredText('required: the image post_build runs in'),
  environment,
  commands: textList,
});

export const DeployTarget = z.strictObject({
  type: optionalText,
  deployment: requiredText('required: the name of the Kubernetes deployment'),
  cluster: optionalText,
  namespace: optionalText,
  containers: z.array(requiredText()).min(1, 'name at least one container of the deployment'),
  host: optionalText,
  token: z.unknown().optional(),
  /** runlog's extension: seconds to wait for the rollout (default 300). */
  timeout: count,
});

export const CaicloudFile = z.strictObject({
  pre_build: optional(PreBuild),
  // `build:` with nothing under it is a build section that says nothing: caught by the compiler.
  build: z.preprocess((value) => (value === null ? {} : value), Build.optional()),
  integration: optional(Integration),
  post_build: optional(PostBuild),
  deploy: optional(z.array(DeployTarget)),
});
export type CaicloudFile = z.infer<typeof CaicloudFile>;
