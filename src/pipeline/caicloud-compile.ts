import { posix } from 'node:path';
import type { z } from 'zod';
import { BUILT_IMAGE, CaicloudFile, STAGE_KEYS } from './caicloud-spec.ts';
import type { CompileOptions, CompileResult } from './compile.ts';
import { factsFrom } from './conditions.ts';
import { byPosition, finding, hasErrors } from './diagnostic.ts';
import type { Diagnostic, Finding, Position } from './diagnostic.ts';
import { buildEnvironment } from './environment.ts';
import { Lit, parseFile } from './parse.ts';
import type { YamlDocument } from './parse.ts';
import type { EnvValue, ImageBuild, KubernetesDeploy, Plan, PlanStep } from './plan.ts';
import type { DockerPipeline, DockerStep } from './spec.ts';
import { planStage } from './stage-plan.ts';
import { CompileContext } from './trigger.ts';
import type { CompileContextInput } from './trigger.ts';
import { describeIssue, formatPath } from './wording.ts';

export interface CaicloudOptions extends CompileOptions {
  /** `host[:port]` of the registry the image is pushed to; absent: the image is built but not pushed. */
  registry?: string;
}

/** The one stage a caicloud.yml plans to. */
export const CAICLOUD_STAGE = 'caicloud';

/**
 * `caicloud.yml` text + what started the build → the same `Plan` a `.drone.yml` gives:
 * one docker stage whose steps are, in order, the clone, `pre_build`, `build` (an image
 * build, see `ImageBuild`), the integration services, `integration`, `post_build` and one
 * step per `deploy` target (see `KubernetesDeploy`). Every step depends on the one before
 * (Cyclone stops at the first failure); the services start once the image exists.
 *
 * Decisions where Cyclone is silent or differs: no `${VAR}` substitution (Cyclone has
 * none; the shell expands `$VAR` in commands); `integration` runs in the built image
 * unless it names an `image`; the image is `<registry>/<owner>/<name>` tagged with the
 * commit, the tag of a tag build, and `latest` (not for pull requests); credentials
 * (registry, cluster token) are `{ from_secret: name }`, never text in the file.
 * Pure and total, like `compile`.
 */
export function compileCaicloud(text: string, context: CompileContextInput, options: CaicloudOptions = {}): CompileResult {
  const file = options.file ?? 'caicloud.yml';
  const withFile = (findings: Finding[]): Diagnostic[] => [...findings].sort(byPosition).map((f) => ({ file, ...f }));
  const start = { document: 0, line: 1, column: 1 };

  const parsedContext = CompileContext.safeParse(context);
  if (!parsedContext.success) {
    const issue = parsedContext.error.issues[0];
    return { diagnostics: withFile([finding('error', start, `the build's context is invalid: ${formatPath(issue.path)}${issue.message}`)]) };
  }
  const ctx = parsedContext.data;

  const { documents, findings } = parseFile(text);
  if (hasErrors(findings)) return { diagnostics: withFile(findings) };
  const present = documents.filter((doc) => doc.value !== undefined && doc.value !== null);
  if (present.length === 0) return { diagnostics: withFile([finding('error', start, `the file is empty: a caicloud.yml has ${STAGE_KEYS.join(', ')}`)]) };
  if (present.length > 1) return { diagnostics: withFile([finding('error', present[1].at([]), 'a caicloud.yml is one YAML document; this is a second one')]) };
  const doc = present[0];
  const value = doc.value;
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Lit) {
    return { diagnostics: withFile([finding('error', doc.at([]), `expected a map of stages (${STAGE_KEYS.join(', ')}), got a list or a single value`)]) };
  }

  const parsed = CaicloudFile.safeParse(value, { error: describeIssue });
  if (!parsed.success) return { diagnostics: withFile(issueFindings(parsed.error.issues, doc)) };
  const spec = parsed.data;
  if (!STAGE_KEYS.some((key) => spec[key] !== undefined)) {
    return { diagnostics: withFile([finding('error', doc.at([]), `no stage: a caicloud.yml has at least one of ${STAGE_KEYS.join(', ')}`)]) };
  }

  const image = builtImage(ctx, options.registry);
  const planned = plannedSteps(spec, doc, image, ctx.repo.trusted, findings);
  if (hasErrors(findings)) return { diagnostics: withFile(findings) };

  const pipeline: DockerPipeline = { kind: 'pipeline', type: 'docker', name: CAICLOUD_STAGE, steps: planned.steps, services: planned.services, volumes: planned.volumes };
  if (planned.workspace) pipeline.workspace = { path: planned.workspace };
  const stage = planStage(
    { kind: 'pipeline', type: 'docker', spec: pipeline, doc },
    { name: CAICLOUD_STAGE, number: 1, dependsOn: [] },
    { params: ctx.trigger.params, build: buildEnvironment(ctx), facts: factsFrom(ctx) },
  );
  for (const step of [...stage.services, ...stage.steps]) {
    const extra = planned.extras.get(step.name);
    if (!extra) continue;
    Object.assign(step, extra);
    if (extra.build || extra.deploy) delete step.script;
  }
  const plan: Plan = { version: 1, stages: [stage], externalSecrets: [] };
  return { plan, diagnostics: withFile(findings) };
}

/** The image `build` makes: `<registry>/<owner>/<name>` (lower case, as Docker insists) and its tags. */
export function builtImage(ctx: CompileContext, registry: string | undefined): Pick<ImageBuild, 'repo' | 'tags' | 'push'> {
  const part = (text: string) => text.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'x';
  const host = registry?.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  const repo = `${host ? `${host}/` : ''}${part(ctx.repo.owner)}/${part(ctx.repo.name)}`;
  const tag = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[.-]+/, '').slice(0, 128);
  const tags = [tag(ctx.trigger.commit) || 'unknown'];
  if (ctx.trigger.event === 'tag') {
    const name = tag(ctx.trigger.ref.replace(/^refs\/tags\//, ''));
    if (name && !tags.includes(name)) tags.push(name);
  }
  if (ctx.trigger.event !== 'pull_request' && !tags.includes('latest')) tags.push('latest');
  return { repo, tags, push: Boolean(host) };
}

type Extra = Partial<Pick<PlanStep, 'build' | 'deploy' | 'aliases' | 'pull' | 'image'>>;

interface PlannedSteps {
  steps: DockerStep[];
  services: DockerStep[];
  volumes: NonNullable<DockerPipeline['volumes']>;
  workspace?: string;
  /** Plan fields `planStage` knows nothing of, by step name. */
  extras: Map<string, Extra>;
}

function plannedSteps(spec: CaicloudFile, doc: YamlDocument, image: ReturnType<typeof builtImage>, trusted: boolean, findings: Finding[]): PlannedSteps {
  const out: PlannedSteps = { steps: [], services: [], volumes: [], extras: new Map() };
  const builtRef = `${image.repo}:${image.tags[0]}`;
  let previous: string | undefined;
  const add = (step: DockerStep, extra?: Extra) => {
    out.steps.push({ ...step, depends_on: [...(previous ? [previous] : []), ...(step.depends_on ?? [])] });
    if (extra) out.extras.set(step.name, extra);
    previous = step.name;
  };
  /** `BUILT_IMAGE` → the image `build` made, never pulled (it is on this runner); `at` is where it was written. */
  const imageOf = (written: string, at: Position): { image: string; extra?: Extra } => {
    if (written !== BUILT_IMAGE) return { image: written };
    if (!spec.build) findings.push(finding('error', at, `${BUILT_IMAGE} is the image the build section makes, and this file has no build section`));
    return { image: builtRef, extra: { pull: 'never' } };
  };

  if (spec.pre_build) {
    const pre = spec.pre_build;
    const mounts: { name: string; path: string }[] = [];
    (pre.volumes ?? []).forEach((volume, i) => {
      const at = doc.at(['pre_build', 'volumes', i]);
      const parts = volume.split(':');
      if (parts.length !== 2 || !parts[0] || !parts[1].startsWith('/')) {
        findings.push(finding('error', at, `'${volume}' is not host:container (the container side an absolute path)`));
      } else if (parts[0] === '.' || parts[0] === './') {
        if (out.workspace) findings.push(finding('error', at, 'the source is mounted once; this is a second `.` volume'));
        out.workspace = parts[1];
      } else if (!parts[0].startsWith('/')) {
        findings.push(finding('error', at, `'${parts[0]}': a host path is absolute, or '.' for the source`));
      } else {
        if (!trusted) findings.push(finding('error', at, `mounting the host path ${parts[0]} needs a trusted repository`));
        const name = `pre_build-${i}`;
        out.volumes.push({ name, host: { path: parts[0] } });
        mounts.push({ name, path: parts[1] });
      }
    });
    const commands = [...(pre.commands ?? [])];
    if (pre.outputs?.length) commands.push(keepOutputs(pre.outputs, spec.build ? contextDir(spec.build.context_dir) : '.'));
    add({ name: 'pre_build', image: pre.image, commands, environment: environmentOf(pre.environment, ['pre_build', 'environment'], doc, findings), volumes: mounts });
  }

  if (spec.build) {
    const { context_dir, dockerfile_name, username, password } = spec.build;
    if (context_dir === undefined && dockerfile_name === undefined) {
      findings.push(finding('error', doc.at(['build'], 'key'), 'build: needs context_dir or dockerfile_name (or both): where the Dockerfile is'));
    }
    const context = contextDir(context_dir);
    if (context.startsWith('..') || posix.isAbsolute(context_dir ?? '')) {
      findings.push(finding('error', doc.at(['build', 'context_dir']), `context_dir: '${context_dir}' is not a folder inside the repository`));
    }
    const dockerfile = posix.normalize(dockerfile_name ?? 'Dockerfile');
    if (dockerfile.startsWith('..') || posix.isAbsolute(dockerfile)) {
      findings.push(finding('error', doc.at(['build', 'dockerfile_name']), `dockerfile_name: '${dockerfile_name}' is not a file inside the context`));
    }
    const environment: Record<string, EnvValue> = {};
    if (username) environment.REGISTRY_USERNAME = { secret: username.from_secret };
    if (password) environment.REGISTRY_PASSWORD = { secret: password.from_secret };
    if (Boolean(username) !== Boolean(password)) {
      findings.push(finding('error', doc.at(['build', username ? 'username' : 'password'], 'key'), 'build: registry credentials are username and password together'));
    }
    add({ name: 'build', image: 'runlog/build', environment }, { image: '', build: { context, dockerfile, ...image } });
  }

  if (spec.integration) {
    const integration = spec.integration;
    const services = Object.entries(integration.services ?? {});
    const reserved = new Set(['clone', 'pre_build', 'build', 'integration', 'post_build']);
    const aliases = new Map<string, string[]>();
    (integration.links ?? []).forEach((link, i) => {
      const [service, alias, ...rest] = link.split(':');
      const at = doc.at(['integration', 'links', i]);
      if (rest.length > 0 || !service) findings.push(finding('error', at, `'${link}' is not service or service:alias`));
      else if (!services.some(([name]) => name === service)) {
        findings.push(finding('error', at, `links: no service '${service}' in integration.services (${services.map(([n]) => n).join(', ') || 'none'})`));
      } else if (alias && alias !== service) aliases.set(service, [...(aliases.get(service) ?? []), alias]);
    });
    for (const [name, service] of services) {
      if (reserved.has(name) || name.startsWith('deploy-')) {
        findings.push(finding('error', doc.at(['integration', 'services', name], 'key'), `a service cannot be called '${name}': a stage of the file has that name`));
      }
      const { image: serviceImage, extra } = imageOf(service.image, doc.at(['integration', 'services', name, 'image']));
      out.services.push({
        name,
        image: serviceImage,
        commands: service.commands,
        environment: environmentOf(service.environment, ['integration', 'services', name, 'environment'], doc, findings),
        // once the image it may run exists
        depends_on: previous ? [previous] : [],
      });
      const own = aliases.get(name);
      if (extra || own) out.extras.set(name, { ...extra, ...(own ? { aliases: own } : {}) });
    }
    const written = integration.image ?? (spec.build ? BUILT_IMAGE : undefined);
    if (written === undefined) {
      findings.push(finding('error', doc.at(['integration'], 'key'), 'integration: runs in the image build makes; with no build section, name an image'));
    }
    const writtenAt = integration.image ? doc.at(['integration', 'image']) : doc.at(['integration'], 'key');
    const { image: integrationImage, extra } = written === undefined ? { image: '' } : imageOf(written, writtenAt);
    add(
      {
        name: 'integration',
        image: integrationImage,
        commands: integration.commands,
        environment: environmentOf(integration.environment, ['integration', 'environment'], doc, findings),
        depends_on: services.map(([name]) => name),
      },
      extra,
    );
  }

  if (spec.post_build) {
    const post = spec.post_build;
    add({ name: 'post_build', image: post.image, commands: post.commands, environment: environmentOf(post.environment, ['post_build', 'environment'], doc, findings) });
  }

  if (spec.deploy?.length && !spec.build) {
    findings.push(finding('error', doc.at(['deploy'], 'key'), 'deploy: sets the image the build section makes, and this file has no build section'));
  }
  if (spec.deploy?.length && !image.push) {
    findings.push(finding('warning', doc.at(['deploy'], 'key'), 'deploy: no registry is configured for this repository, so the image is not pushed and a cluster cannot pull it'));
  }
  const names = new Set<string>();
  (spec.deploy ?? []).forEach((target, i) => {
    const at = (key: string) => doc.at(['deploy', i, key]);
    const type = target.type ?? 'kubernetes';
    if (type !== 'kubernetes') findings.push(finding('error', at('type'), `type: '${type}': runlog deploys to kubernetes only`));
    if (!target.host) findings.push(finding('error', doc.at(['deploy', i]), 'host: required: the Kubernetes API server (https://host:port); runlog keeps no clusters of its own'));
    const token = tokenSecret(target.token, ['deploy', i, 'token'], doc, findings);
    let name = `deploy-${target.deployment}`;
    for (let n = 2; names.has(name); n++) name = `deploy-${target.deployment}-${n}`;
    names.add(name);
    const deploy: KubernetesDeploy = {
      host: (target.host ?? '').replace(/\/+$/, ''),
      cluster: target.cluster ?? '',
      namespace: target.namespace ?? 'default',
      deployment: target.deployment,
      containers: target.containers,
      image: builtRef,
      timeoutSeconds: target.timeout || 300,
    };
    add({ name, image: 'runlog/deploy', environment: token ? { KUBERNETES_TOKEN: { secret: token } } : {} }, { image: '', deploy });
  });
  return out;
}

function contextDir(written: string | undefined): string {
  const normal = posix.normalize(written ?? '.').replace(/\/+$/, '');
  return normal === '' ? '.' : normal;
}

/**
 * Cyclone copies `outputs` into the build context when `pre_build` ends. Written as the
 * step's last command, so the log shows it and a missing output fails the step by name.
 */
function keepOutputs(outputs: readonly string[], context: string): string {
  const list = outputs.map(quote).join(' ');
  return `mkdir -p ${quote(context)} && for output in ${list}; do kept=${quote(context)}/"$(basename "$output")"; [ "$output" -ef "$kept" ] || cp -a "$output" "$kept"; done`;
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * Cyclone's environment: a list of `KEY=value` (spaces around `=` allowed); or a map, whose
 * values may be `{ from_secret: name }` as in `.drone.yml`.
 */
function environmentOf(value: unknown, path: (string | number)[], doc: YamlDocument, findings: Finding[]): Record<string, EnvValue> {
  const out: Record<string, EnvValue> = {};
  if (value === undefined || value === null) return out;
  const key = /^[A-Za-z_][A-Za-z0-9_]*$/;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const line = item instanceof Lit ? item.source : item;
      const at = line === null || typeof line !== 'string' ? -1 : line.indexOf('=');
      const name = at < 0 ? '' : (line as string).slice(0, at).trim();
      if (!key.test(name)) {
        const shown = typeof line === 'string' ? `'${line}'` : 'this item';
        findings.push(finding('error', doc.at([...path, i]), `${formatPath([...path, i])}${shown} is not KEY=value`));
        return;
      }
      out[name] = { value: (line as string).slice(at + 1).trim() };
    });
    return out;
  }
  if (typeof value === 'object' && !(value instanceof Lit)) {
    for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
      if (!key.test(name)) findings.push(finding('error', doc.at([...path, name], 'key'), `${formatPath(path)}'${name}' is not a variable name`));
      else if (item instanceof Lit) out[name] = { value: item.source };
      else if (typeof item === 'string' || item === null) out[name] = { value: item ?? '' };
      else if (typeof item === 'object' && !Array.isArray(item) && typeof (item as Record<string, unknown>).from_secret === 'string') {
        out[name] = { secret: (item as Record<string, string>).from_secret };
      } else findings.push(finding('error', doc.at([...path, name]), `${formatPath([...path, name])}expected a value or { from_secret: name }`));
    }
    return out;
  }
  findings.push(finding('error', doc.at(path), `${formatPath(path)}expected a list of KEY=value or a map`));
  return out;
}

function tokenSecret(value: unknown, path: (string | number)[], doc: YamlDocument, findings: Finding[]): string | undefined {
  if (value === undefined || value === null) {
    findings.push(finding('error', doc.at(path.slice(0, -1)), 'token: required: { from_secret: name } of the cluster\'s bearer token'));
    return undefined;
  }
  if (typeof value === 'object' && !Array.isArray(value) && !(value instanceof Lit)) {
    const secret = (value as Record<string, unknown>).from_secret;
    if (typeof secret === 'string' && secret !== '' && Object.keys(value).length === 1) return secret;
  }
  findings.push(finding('error', doc.at(path), 'token: write { from_secret: name }: a token in the file would be stored with the build'));
  return undefined;
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
}

/** zod issues → findings at their place; an unknown key is an error at that key. */
function issueFindings(issues: readonly z.core.$ZodIssue[], doc: YamlDocument): Finding[] {
  return (issues as readonly Issue[]).flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys') return [finding('error', doc.at(issue.path), `${formatPath(issue.path)}${issue.message}`)];
    return (issue.keys ?? []).map((key) => {
      const at = doc.at([...issue.path, key], 'key');
      if (issue.path.length === 0) {
        return finding('error', at, `unknown stage '${key}': a caicloud.yml has ${STAGE_KEYS.join(', ')}`);
      }
      return finding('error', at, `${formatPath(issue.path)}unknown key '${key}'`);
    });
  });
}
