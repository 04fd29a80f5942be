import { BUILD_IMAGE, buildStepOf, isBuildStep } from './build-step.ts';
import { STATUS_VALUES } from './conditions.ts';
import type { Conditions } from './conditions.ts';
import { findCycle } from './dag.ts';
import { finding } from './diagnostic.ts';
import type { Finding } from './diagnostic.ts';
import type { DockerStep, ExecStep } from './spec.ts';
import type { ValidPipeline } from './validate.ts';
import { pathText } from './wording.ts';
import { restrictedWorkspace } from './workspace.ts';

/**
 * Drone's rules for a valid pipeline, beyond the shape of its fields: drone/drone-yaml
 * `yaml/linter` (the server refuses such a file) and drone-runners/drone-runner-docker
 * `engine/linter`. Errors where Drone refuses the file; warnings where Drone runs it but
 * the file probably does not say what its author meant.
 */

type AnyStep = DockerStep | ExecStep;
type Group = 'services' | 'steps';
interface Entry {
  group: Group;
  index: number;
  step: AnyStep;
}

/** drone-yaml `linter.go`: the platforms a docker pipeline may ask for. */
const DOCKER_OS = new Set(['linux', 'windows']);
const DOCKER_ARCH = new Set(['arm', 'arm64', 'amd64', 'ppc64le', 's390x']);
/** Volume names the runner uses for itself (drone-yaml and drone-runner-docker linters). */
const RESERVED_VOLUMES = new Set(['workspace', '_workspace', '_docker_socket']);
const PULL_POLICIES = new Set(['always', 'never', 'if-not-exists']);

export function lintPipeline(pipeline: ValidPipeline, trusted: boolean): Finding[] {
  const { spec, doc } = pipeline;
  const out: Finding[] = [];
  const error = (path: PropertyKey[], message: string, part: 'key' | 'value' = 'value') =>
    out.push(finding('error', doc.at(path, part), `${pathText(path)}: ${message}`));
  const warn = (path: PropertyKey[], message: string, part: 'key' | 'value' = 'value') =>
    out.push(finding('warning', doc.at(path, part), `${pathText(path)}: ${message}`));

  const entries: Entry[] = [
    ...(pipeline.type === 'docker' ? (pipeline.spec.services ?? []) : []).map((step, index) => ({ group: 'services' as const, index, step })),
    ...(spec.steps ?? []).map((step, index) => ({ group: 'steps' as const, index, step })),
  ];
  const cloned = !spec.clone?.disable;
  if (entries.length === 0) warn(['steps'], 'the pipeline has no steps', 'key');
  for (const { group, index, step } of entries) {
    if (!('image' in step) || !isBuildStep(step.image)) continue;
    if (group === 'services') error([group, index, 'image'], `${BUILD_IMAGE} builds an image in a step; it cannot be a service`);
    else for (const [key, message] of buildStepOf(step.settings).problems) error([group, index, 'settings', ...(step.settings?.[key] === undefined ? [] : [key])], `${key}: ${message}`);
  }

  // Names: unique across clone, services and steps (drone-yaml linter `checkPipeline`).
  const declared = new Map<string, Entry | 'clone'>();
  if (cloned) declared.set('clone', 'clone');
  for (const entry of entries) {
    const name = entry.step.name;
    const previous = declared.get(name);
    if (previous === 'clone') error([entry.group, entry.index, 'name'], "'clone' is the name of the clone step; disable it with clone: { disable: true } to write your own");
    else if (previous) error([entry.group, entry.index, 'name'], `'${name}' is already the name of ${pathText([previous.group, previous.index])}`);
    else declared.set(name, entry);
  }

  lintDependencies(entries, declared, cloned, error, warn);

  for (const entry of entries) {
    const at = (field: string): PropertyKey[] => [entry.group, entry.index, field];
    const step = entry.step;
    lintStatus(step.when, [entry.group, entry.index, 'when'], warn);
    if (step.failure !== undefined && step.failure.toLowerCase() !== 'ignore' && step.failure !== '') {
      const fast = ['fast', 'fail-fast', 'fast-fail'].includes(step.failure);
      warn(at('failure'), fast ? `'${step.failure}' (fail fast) is not supported by runlog; a failure fails the stage as usual` : `'${step.failure}' is not a failure policy; only 'ignore' changes anything`);
    }
    if (!('image' in step)) continue;
    if (step.pull !== undefined && !PULL_POLICIES.has(step.pull.toLowerCase())) {
      warn(at('pull'), `'${step.pull}' is not a pull policy (always, never, if-not-exists); Drone's default applies`);
    }
    if (step.commands?.length && (step.entrypoint?.length || step.command?.length)) {
      warn(at(step.entrypoint?.length ? 'entrypoint' : 'command'), 'is ignored: commands replace the entrypoint and command, as in Drone');
    }
    if (!trusted) {
      // drone-yaml linter `checkContainer`: these reach the host, so only trusted repositories may ask.
      if (step.privileged) error(at('privileged'), 'only trusted repositories may run privileged steps');
      if (step.dns?.length) error(at('dns'), 'only trusted repositories may configure dns');
      if (step.dns_search?.length) error(at('dns_search'), 'only trusted repositories may configure dns_search');
      if (step.extra_hosts?.length) error(at('extra_hosts'), 'only trusted repositories may configure extra_hosts');
      if (step.network_mode) error(at('network_mode'), 'only trusted repositories may configure network_mode');
    }
  }

  if (pipeline.type === 'docker') lintDocker(pipeline, entries, trusted, error, warn);
  else if (spec.workspace) warn(['workspace'], 'is ignored by exec pipelines: the runner picks a fresh directory', 'key');
  lintStatus(spec.trigger, ['trigger'], warn);
  return out;
}

type Report = (path: PropertyKey[], message: string, part?: 'key' | 'value') => void;

function lintDependencies(entries: Entry[], declared: Map<string, Entry | 'clone'>, cloned: boolean, error: Report, warn: Report): void {
  const position = new Map(entries.map((entry, order) => [entry, order]));
  for (const entry of entries) {
    const deps = entry.step.depends_on ?? [];
    deps.forEach((dep, i) => {
      const path = [entry.group, entry.index, 'depends_on', i];
      const target = declared.get(dep);
      if (dep === entry.step.name) error(path, 'a step cannot depend on itself');
      else if (target === undefined) error(path, dep === 'clone' && !cloned ? 'the clone step is disabled' : `no step or service named '${dep}'`);
      else if (target !== 'clone' && (position.get(target) ?? 0) > (position.get(entry) ?? 0)) {
        warn(path, `'${dep}' is declared after this step; runlog follows it, Drone refuses the file`);
      }
    });
  }
  const names = entries.map((entry) => entry.step.name);
  const byName = new Map(entries.map((entry) => [entry.step.name, entry]));
  const cycle = findCycle(names, (name) => (byName.get(name)?.step.depends_on ?? []).filter((dep) => dep !== name));
  if (cycle) {
    const first = byName.get(cycle[0]);
    if (first) error([first.group, first.index, 'depends_on'], `dependency cycle: ${cycle.join(' → ')}`);
  }
  // Drone's graph mode: once one step names its dependencies, a step without depends_on
  // starts right after the clone (drone-runner-docker `configureCloneDeps`).
  if (entries.some((entry) => entry.step.depends_on?.length)) {
    for (const entry of entries) {
      if (entry.group === 'steps' && !entry.step.depends_on?.length) {
        warn([entry.group, entry.index, 'name'], "has no depends_on while other steps do, so it starts right after the clone (Drone's rule); give every step its depends_on");
      }
    }
  }
}

function lintDocker(pipeline: Extract<ValidPipeline, { type: 'docker' }>, entries: Entry[], trusted: boolean, error: Report, warn: Report): void {
  const { spec } = pipeline;
  const os = spec.platform?.os;
  if (os && !DOCKER_OS.has(os)) error(['platform', 'os'], `'${os}' is not an os docker pipelines run on (linux, windows)`);
  const arch = spec.platform?.arch;
  if (arch && !DOCKER_ARCH.has(arch)) error(['platform', 'arch'], `'${arch}' is not an architecture docker pipelines run on (${[...DOCKER_ARCH].join(', ')})`);
  if (spec.workspace?.base) warn(['workspace', 'base'], 'is the Drone 1.0 form; write the full path as workspace.path', 'key');
  if (restrictedWorkspace(spec.workspace)) warn(['workspace'], 'points into a system directory; /drone/src is used instead, as Drone does', 'key');

  const volumes = new Map<string, number>();
  (spec.volumes ?? []).forEach((volume, index) => {
    const at = (...rest: PropertyKey[]): PropertyKey[] => ['volumes', index, ...rest];
    if (RESERVED_VOLUMES.has(volume.name)) error(at('name'), `'${volume.name}' is reserved for the runner`);
    else if (volumes.has(volume.name)) error(at('name'), `'${volume.name}' is already declared by volumes[${volumes.get(volume.name)}]`);
    else volumes.set(volume.name, index);
    if (volume.temp && volume.host) warn(at('host'), 'is ignored: a volume is either temp or host, and temp comes first (as in Drone)', 'key');
    if (!volume.temp && !volume.host) warn(at('name'), 'declares neither temp nor host; Drone ignores such a volume');
    if (volume.temp?.medium && volume.temp.medium !== 'memory') warn(at('temp', 'medium'), `'${volume.temp.medium}' is not a medium; only 'memory' (tmpfs) changes anything`);
    if (!trusted && volume.host && !volume.temp) error(at('host'), 'only trusted repositories may mount host volumes', 'key');
    if (!trusted && volume.temp?.medium === 'memory') error(at('temp', 'medium'), 'only trusted repositories may mount in-memory volumes');
  });
  for (const entry of entries) {
    if (!('image' in entry.step)) continue;
    (entry.step.volumes ?? []).forEach((mount, index) => {
      const path = [entry.group, entry.index, 'volumes', index, 'name'];
      if (RESERVED_VOLUMES.has(mount.name)) error(path, `'${mount.name}' is reserved for the runner`);
      else if (!volumes.has(mount.name)) error(path, `no volume named '${mount.name}' is declared in volumes`);
      else {
        const volume = (spec.volumes ?? [])[volumes.get(mount.name) ?? 0];
        if (!volume.temp && !volume.host) error(path, `volume '${mount.name}' is neither temp nor host`);
      }
    });
  }
}

/** `status` only knows success and failure (conditions.ts `STATUS_VALUES`). */
function lintStatus(conditions: Conditions | undefined, path: PropertyKey[], warn: Report): void {
  const status = conditions?.status;
  if (!status) return;
  for (const value of [...status.include, ...status.exclude]) {
    if (!(STATUS_VALUES as readonly string[]).includes(value)) warn([...path, 'status'], `'${value}' is not a status; use success or failure`);
  }
}

/** A pipeline's name: Drone calls an unnamed pipeline `default` (drone/drone `trigger.go`). */
export function pipelineName(pipeline: ValidPipeline): string {
  return pipeline.spec.name || 'default';
}

/**
 * Rules across the pipelines of a file (drone-yaml `linter/config.go` and drone/drone
 * `trigger.go`): unique names, `depends_on` naming another pipeline of the file, no cycle.
 * `invalid`: names of pipeline documents that failed validation (already reported), which
 * a dependency may still name.
 */
export function lintManifest(pipelines: readonly ValidPipeline[], invalid: ReadonlySet<string> = new Set()): Finding[] {
  const out: Finding[] = [];
  const byName = new Map<string, ValidPipeline>();
  const order = new Map<ValidPipeline, number>();
  pipelines.forEach((pipeline, i) => {
    const name = pipelineName(pipeline);
    const at = pipeline.doc.at(pipeline.spec.name ? ['name'] : []);
    const previous = byName.get(name);
    if (previous) {
      const unnamed = pipeline.spec.name ? '' : ' (a pipeline without a name is called default)';
      out.push(finding('error', at, `pipeline name '${name}' is already used by the pipeline at line ${previous.doc.at([]).line}${unnamed}`));
    } else byName.set(name, pipeline);
    order.set(pipeline, i);
  });
  for (const pipeline of pipelines) {
    const name = pipelineName(pipeline);
    (pipeline.spec.depends_on ?? []).forEach((dep, i) => {
      const at = pipeline.doc.at(['depends_on', i]);
      const target = byName.get(dep);
      if (dep === name) out.push(finding('error', at, `depends_on[${i}]: a pipeline cannot depend on itself`));
      else if (!target) {
        if (!invalid.has(dep)) out.push(finding('error', at, `depends_on[${i}]: no pipeline named '${dep}' in this file`));
      } else if ((order.get(target) ?? 0) > (order.get(pipeline) ?? 0)) {
        out.push(finding('warning', at, `depends_on[${i}]: '${dep}' is declared after this pipeline; runlog follows it, Drone refuses the file`));
      }
    });
  }
  const names = [...byName.keys()];
  const cycle = findCycle(names, (name) => (byName.get(name)?.spec.depends_on ?? []).filter((dep) => dep !== name));
  if (cycle) {
    const first = byName.get(cycle[0]);
    if (first) out.push(finding('error', first.doc.at(['depends_on']), `depends_on: dependency cycle between pipelines: ${cycle.join(' → ')}`));
  }
  return out;
}
