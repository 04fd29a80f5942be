import { evaluateConditions, factsFrom } from './conditions.ts';
import { dependenciesPast, topologicalOrder } from './dag.ts';
import { byPosition, finding, hasErrors } from './diagnostic.ts';
import type { Diagnostic, Finding } from './diagnostic.ts';
import { buildEnvironment, stageEnvironment } from './environment.ts';
import { lintManifest, lintPipeline, pipelineName } from './linter.ts';
import { parseFile } from './parse.ts';
import type { Plan, PlanStage, Skip } from './plan.ts';
import { planStage, platformOf } from './stage-plan.ts';
import type { StagePlacement } from './stage-plan.ts';
import { substitute } from './substitute.ts';
import { CompileContext } from './trigger.ts';
import type { CompileContextInput } from './trigger.ts';
import { declaredPipelineName, validateDocument } from './validate.ts';
import type { ValidDocument, ValidPipeline } from './validate.ts';
import { formatPath } from './wording.ts';

export interface CompileOptions {
  /** The name diagnostics carry; default `.drone.yml`. */
  file?: string;
}

export interface CompileResult {
  /** Absent when any diagnostic is an error. */
  plan?: Plan;
  /** Every problem found, errors and warnings, in reading order. */
  diagnostics: Diagnostic[];
}

/**
 * `.drone.yml` text + what started the build → the build's plan, the way Drone reads the
 * file: substitute `${VARS}` (the build's and the stage's `DRONE_*` variables and the
 * build parameters), parse the YAML documents, validate them, apply Drone's lint rules,
 * then plan one stage per pipeline in dependency order. Pure and total: bad input gives
 * diagnostics, never a throw.
 */
export function compile(text: string, context: CompileContextInput, options: CompileOptions = {}): CompileResult {
  const file = options.file ?? '.drone.yml';
  const withFile = (findings: Finding[]): Diagnostic[] => [...findings].sort(byPosition).map((f) => ({ file, ...f }));

  const parsedContext = CompileContext.safeParse(context);
  if (!parsedContext.success) {
    const issue = parsedContext.error.issues[0];
    return { diagnostics: withFile([finding('error', start, `the build's context is invalid: ${formatPath(issue.path)}${issue.message}`)]) };
  }
  const ctx = parsedContext.data;
  const build = buildEnvironment(ctx);

  // runner-go `runtime/runner.go`: build parameters come last, so they win in substitution.
  const substituted = substitute(text, { ...build, ...ctx.trigger.params });
  if (!substituted.ok) {
    const at = { document: documentAt(text, substituted.line), line: substituted.line, column: substituted.column };
    return { diagnostics: withFile([finding('error', at, substituted.message)]) };
  }

  const { documents, findings } = parseFile(substituted.text);
  const valid: ValidDocument[] = [];
  const invalidPipelines = new Set<string>();
  for (const doc of documents) {
    const result = validateDocument(doc);
    findings.push(...result.findings);
    if (result.document) valid.push(result.document);
    else {
      const name = declaredPipelineName(doc);
      if (name !== undefined) invalidPipelines.add(name);
    }
  }
  const pipelines = valid.filter((document): document is ValidPipeline => document.kind === 'pipeline');
  for (const pipeline of pipelines) findings.push(...lintPipeline(pipeline, ctx.repo.trusted));
  findings.push(...lintManifest(pipelines, invalidPipelines));
  const { externalSecrets, signature } = otherDocuments(valid, findings);
  if (pipelines.length === 0 && !hasErrors(findings)) findings.push(finding('error', start, 'the file has no pipeline (a document with kind: pipeline)'));
  if (hasErrors(findings)) return { diagnostics: withFile(findings) };

  const facts = factsFrom(ctx);
  const byName = new Map(pipelines.map((pipeline) => [pipelineName(pipeline), pipeline]));
  const names = [...byName.keys()];
  const known = new Set(names);
  const deps = (name: string) => byName.get(name)?.spec.depends_on ?? [];
  const skips = new Map<string, Skip | undefined>(
    pipelines.map((pipeline) => [pipelineName(pipeline), pipeline.spec.trigger ? evaluateConditions(pipeline.spec.trigger, facts) : undefined]),
  );
  const scope = { params: ctx.trigger.params, build, facts };
  const stageNeedsOwnText = STAGE_VARIABLES.some((name) => text.includes(name));
  const stages: PlanStage[] = [];
  for (const [i, name] of topologicalOrder(names, deps).entries()) {
    const placement = { name, number: i + 1, dependsOn: dependenciesPast(name, deps, (dep) => skips.get(dep) !== undefined, known), skip: skips.get(name) };
    let pipeline = byName.get(name) as ValidPipeline;
    if (stageNeedsOwnText) {
      const own = substitutedForStage(text, pipeline, placement, ctx.trigger.params, build, ctx.repo.trusted);
      if (!own.pipeline) return { diagnostics: withFile([...findings, ...own.findings]) };
      pipeline = own.pipeline;
    }
    stages.push(planStage(pipeline, placement, scope));
  }
  const plan: Plan = { version: 1, stages, externalSecrets };
  if (signature !== undefined) plan.signature = signature;
  return { plan, diagnostics: withFile(findings) };
}

const start = { document: 0, line: 1, column: 1 };

/** Variables Drone's runner knows of a stage before it runs it (runner-go `environ.Stage`). */
const STAGE_VARIABLES = Object.keys(stageEnvironment({ name: '', number: 1, type: '', os: '', arch: '', variant: '', kernel: '', dependsOn: [] }));

/**
 * Drone substitutes the file once per stage, with that stage's variables too
 * (runner-go `runtime/runner.go`: `environ.Stage(stage)` is in the substitution map), so
 * `${DRONE_STAGE_NAME}` is each pipeline's own name. When the file names a stage variable,
 * the pipeline is read again from a text substituted for its stage; the first reading,
 * with those variables empty, gave the file's structure and its diagnostics.
 */
function substitutedForStage(
  text: string,
  pipeline: ValidPipeline,
  placement: StagePlacement,
  params: Record<string, string>,
  build: Record<string, string>,
  trusted: boolean,
): { pipeline?: ValidPipeline; findings: Finding[] } {
  const platform = platformOf(pipeline);
  const stage = stageEnvironment({ ...platform, name: placement.name, number: placement.number, type: pipeline.type, dependsOn: placement.dependsOn });
  const substituted = substitute(text, { ...build, ...stage, ...params });
  if (!substituted.ok) {
    return { findings: [finding('error', { document: pipeline.doc.index, line: substituted.line, column: substituted.column }, substituted.message)] };
  }
  const doc = parseFile(substituted.text).documents.find((candidate) => candidate.index === pipeline.doc.index);
  const result = doc ? validateDocument(doc) : undefined;
  const own = result?.document;
  if (!result || !own || own.kind !== 'pipeline') {
    const why = `pipeline '${placement.name}' does not read the same with its stage's variables substituted`;
    return { findings: [...(result?.findings ?? []).filter((f) => f.severity === 'error'), finding('error', pipeline.doc.at([]), why)] };
  }
  const errors = [...result.findings, ...lintPipeline(own, trusted)].filter((f) => f.severity === 'error');
  return errors.length > 0 ? { findings: errors } : { pipeline: own, findings: [] };
}

/** `kind: secret` and `kind: signature` documents → the plan's external secrets and signature. */
function otherDocuments(valid: readonly ValidDocument[], findings: Finding[]): Pick<Plan, 'externalSecrets' | 'signature'> {
  const externalSecrets: Plan['externalSecrets'] = [];
  let signature: string | undefined;
  for (const document of valid) {
    if (document.kind === 'secret') {
      const { spec, doc } = document;
      if (spec.get && (spec.get.path || spec.get.name)) {
        // Drone's `get.name` is the key inside the secret at `path` (vault, kubernetes secrets).
        externalSecrets.push({ name: spec.name, path: spec.get.path ?? '', key: spec.get.name ?? spec.get.key ?? '' });
      } else if (spec.data !== undefined) {
        findings.push(finding('warning', doc.at(['data'], 'key'), "data: Drone's encrypted secrets are not supported by runlog; store the secret in the repository's secrets instead"));
      } else {
        findings.push(finding('error', doc.at([]), 'a secret document needs get: { path, name } (runner-go: invalid secret resource)'));
      }
    } else if (document.kind === 'signature') {
      if (signature === undefined) signature = document.spec.hmac;
      else findings.push(finding('warning', document.doc.at(['hmac']), 'hmac: a second signature document is ignored'));
    }
  }
  return { externalSecrets, signature };
}

/** The YAML document a line of the raw text belongs to (documents are separated by `---` lines). */
function documentAt(text: string, line: number): number {
  const lines = text.split('\n').slice(0, line - 1);
  const separators = lines.filter((l) => l.startsWith('---')).length;
  return Math.max(0, separators - (text.startsWith('---') ? 1 : 0));
}
