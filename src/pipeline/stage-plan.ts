import { runsOn } from './conditions.ts';
import type { ConditionFacts } from './conditions.ts';
import { stageEnvironment, workspaceEnvironment } from './environment.ts';
import type { EnvValue, PlanStage, PlanStep, PlanVolume, Platform, Skip } from './plan.ts';
import type { DockerStep, ExecStep } from './spec.ts';
import { secretName } from './settings.ts';
import { planClone, planStep } from './step-plan.ts';
import type { StageScope } from './step-plan.ts';
import type { ValidPipeline } from './validate.ts';
import { workspaceOf } from './workspace.ts';

/** What the file-level pass decided about a pipeline before it is planned. */
export interface StagePlacement {
  name: string;
  number: number;
  /** After Drone's rewiring around skipped pipelines. */
  dependsOn: string[];
  skip?: Skip;
}

export interface BuildScope {
  /** Build parameters, lowest precedence (Drone `environ.Combine`: `args.Build.Params` first). */
  params: Record<string, string>;
  /** `buildEnvironment(ctx)`: every `DRONE_*`/`CI_*` of the build. */
  build: Record<string, string>;
  facts: ConditionFacts;
}

export function platformOf(pipeline: ValidPipeline): Platform {
  const platform = pipeline.spec.platform;
  // drone/drone `trigger.go`: an empty os/arch is linux/amd64; `version` is the stage's kernel.
  return {
    os: platform?.os || 'linux',
    arch: platform?.arch || 'amd64',
    variant: platform?.variant ?? '',
    version: platform?.version ?? '',
    kernel: platform?.version ?? '',
  };
}

/** One pipeline → its stage: environment, clone, services and steps with their dependencies, secrets by name. */
export function planStage(pipeline: ValidPipeline, placement: StagePlacement, scope: BuildScope): PlanStage {
  const { spec } = pipeline;
  const platform = platformOf(pipeline);
  const workspace = pipeline.type === 'docker' ? workspaceOf(spec.workspace, platform.os) : workspaceOf(undefined, platform.os);

  const environment: Record<string, EnvValue> = {};
  for (const [name, value] of Object.entries(scope.params)) environment[name] = { value };
  Object.assign(environment, spec.environment ?? {});
  const computed = {
    ...scope.build,
    ...stageEnvironment({
      name: placement.name,
      number: placement.number,
      type: pipeline.type,
      os: platform.os,
      arch: platform.arch,
      variant: platform.variant,
      kernel: platform.kernel,
      dependsOn: placement.dependsOn,
    }),
    ...workspaceEnvironment(workspace.path),
    // The base and path exactly as the workspace was written (Drone 1.0's base/path form included).
    DRONE_WORKSPACE_BASE: workspace.base,
    DRONE_WORKSPACE_PATH: workspace.relative,
    CI_WORKSPACE_BASE: workspace.base,
    CI_WORKSPACE_PATH: workspace.relative,
  };
  for (const [name, value] of Object.entries(computed)) environment[name] = { value };
  const stageScope: StageScope = { environment, os: platform.os, workspace, facts: scope.facts };

  const clone = {
    disable: spec.clone?.disable ?? false,
    depth: spec.clone?.depth ?? 0,
    retries: spec.clone?.retries ?? 0,
    skipVerify: spec.clone?.skip_verify ?? false,
    tags: false,
  };
  const cloneStep = clone.disable ? [] : [planClone(stageScope, clone)];
  let number = cloneStep.length;
  const serviceSpecs = pipeline.type === 'docker' ? (pipeline.spec.services ?? []) : [];
  const stepSpecs: (DockerStep | ExecStep)[] = spec.steps ?? [];
  const services = serviceSpecs.map((service) => planStep(service, 'service', ++number, stageScope));
  const steps = stepSpecs.map((step) => planStep(step, 'step', ++number, stageScope));
  wireDependencies([...cloneStep, ...services, ...steps], [...serviceSpecs, ...stepSpecs], cloneStep.length > 0);

  const stage: PlanStage = {
    number: placement.number,
    name: placement.name,
    type: pipeline.type,
    platform,
    labels: spec.node ?? {},
    dependsOn: placement.dependsOn,
    runsOn: runsOn(spec.trigger?.status, ['success']),
    workspace: { path: workspace.path, base: workspace.base },
    clone,
    volumes: pipeline.type === 'docker' ? volumesOf(pipeline.spec.volumes ?? []) : [],
    imagePullSecrets: pipeline.type === 'docker' ? (pipeline.spec.image_pull_secrets ?? []) : [],
    services,
    steps: [...cloneStep, ...steps],
    secrets: secretsOf(pipeline),
  };
  if (placement.skip) stage.skip = placement.skip;
  const limit = spec.concurrency?.limit ?? 0;
  if (limit > 0) stage.concurrency = { limit };
  return stage;
}

/**
 * drone-runner-docker `isGraph` / `configureSerial` / `configureCloneDeps`: when no step
 * names its dependencies, everything runs in written order (clone, services, steps), each
 * after the one before; otherwise the written `depends_on` hold, and a step that names
 * none starts after the clone (or at once when cloning is disabled).
 */
function wireDependencies(planned: PlanStep[], specs: readonly (DockerStep | ExecStep)[], cloned: boolean): void {
  const written = [...(cloned ? [[] as string[]] : []), ...specs.map((spec) => spec.depends_on ?? [])];
  const graph = written.some((deps) => deps.length > 0);
  planned.forEach((step, i) => {
    if (!graph) step.dependsOn = i === 0 ? [] : [planned[i - 1].name];
    else if (step.kind === 'clone') step.dependsOn = [];
    else step.dependsOn = written[i].length > 0 ? [...written[i]] : cloned ? ['clone'] : [];
  });
}

function volumesOf(volumes: NonNullable<Extract<ValidPipeline, { type: 'docker' }>['spec']['volumes']>): PlanVolume[] {
  return volumes.flatMap((volume): PlanVolume[] => {
    if (volume.temp) {
      const temp: PlanVolume = { kind: 'temp', name: volume.name, medium: volume.temp.medium === 'memory' ? 'memory' : '' };
      if (volume.temp.size_limit) temp.sizeLimit = volume.temp.size_limit;
      return [temp];
    }
    if (volume.host) return [{ kind: 'host', name: volume.name, path: volume.host.path }];
    return [];
  });
}

/** Every secret the stage names: in environments, plugin settings and image pull secrets; sorted, once each. */
function secretsOf(pipeline: ValidPipeline): string[] {
  const names = new Set<string>();
  const fromEnvironment = (env: Record<string, EnvValue> | undefined) => {
    for (const value of Object.values(env ?? {})) if ('secret' in value) names.add(value.secret);
  };
  fromEnvironment(pipeline.spec.environment);
  const all: (DockerStep | ExecStep)[] = [...(pipeline.type === 'docker' ? (pipeline.spec.services ?? []) : []), ...(pipeline.spec.steps ?? [])];
  for (const step of all) {
    fromEnvironment(step.environment);
    if ('settings' in step) for (const value of Object.values(step.settings ?? {})) {
      const name = secretName(value);
      if (name) names.add(name);
    }
  }
  if (pipeline.type === 'docker') for (const name of pipeline.spec.image_pull_secrets ?? []) names.add(name);
  return [...names].sort();
}
