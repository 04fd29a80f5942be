import type { EnvValue, ImageBuild } from './plan.ts';
import { Lit } from './parse.ts';
import { secretName } from './settings.ts';

/**
 * Drone's side of the image build step: a step with `image: runlog/build` is not a
 * container but the runner's own build and push (see `ImageBuild`), so a `.drone.yml`
 * needs neither `plugins/docker` nor a privileged Docker-in-Docker. Its `settings` use
 * plugins/docker's names, so moving a step over is changing its image:
 *   repo (required: `host:port/owner/name`), tags (default `latest`), dockerfile (default
 *   `Dockerfile`, relative to the context), context (default `.`, in the workspace),
 *   username / password (`from_secret`), dry_run (build, do not push).
 */
export const BUILD_IMAGE = 'runlog/build';

export function isBuildStep(image: string): boolean {
  return image === BUILD_IMAGE || image.startsWith(`${BUILD_IMAGE}:`);
}

/** The step's settings → its `ImageBuild` and the credentials' environment; `problems` are `[setting, message]`. */
export function buildStepOf(settings: Record<string, unknown> | undefined): { build?: ImageBuild; environment: Record<string, EnvValue>; problems: [string, string][] } {
  const problems: [string, string][] = [];
  const text = (key: string): string | undefined => {
    const value = settings?.[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (value instanceof Lit) return value.source;
    problems.push([key, 'expected a string']);
    return undefined;
  };
  const repo = text('repo');
  if (!repo) problems.push(['repo', `required: the image to build, host:port/owner/name (${BUILD_IMAGE})`]);
  const rawTags = settings?.tags;
  const tags = (Array.isArray(rawTags) ? rawTags : rawTags === undefined || rawTags === null ? ['latest'] : String(rawTags instanceof Lit ? rawTags.source : rawTags).split(','))
    .map((tag) => (tag instanceof Lit ? tag.source : String(tag)).trim())
    .filter(Boolean);
  const bad = tags.find((tag) => !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag));
  if (bad !== undefined) problems.push(['tags', `'${bad}' is not a Docker tag`]);
  const environment: Record<string, EnvValue> = {};
  for (const [key, variable] of [['username', 'REGISTRY_USERNAME'], ['password', 'REGISTRY_PASSWORD']] as const) {
    const value = settings?.[key];
    if (value === undefined || value === null) continue;
    const secret = secretName(value);
    if (secret) environment[variable] = { secret };
    else problems.push([key, 'write { from_secret: name }: a credential in the file would be stored with the build']);
  }
  const dryRun = settings?.dry_run instanceof Lit ? settings.dry_run.value === true : settings?.dry_run === 'true';
  if (!repo || problems.length > 0) return { environment, problems };
  return {
    build: { context: text('context') ?? '.', dockerfile: text('dockerfile') ?? 'Dockerfile', repo, tags: tags.length > 0 ? tags : ['latest'], push: !dryRun },
    environment,
    problems,
  };
}
