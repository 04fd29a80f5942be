import type { z } from 'zod';
import { finding } from './diagnostic.ts';
import type { Finding } from './diagnostic.ts';
import { Lit } from './parse.ts';
import type { YamlDocument } from './parse.ts';
import { DockerPipeline, ExecPipeline, SecretDocument, SignatureDocument } from './spec.ts';
import { describeIssue, formatPath, ignoredFieldMessage } from './wording.ts';

/**
 * YAML document → typed spec, with every problem as a finding. Dispatch on `kind` and
 * `type` the way Drone does (drone-yaml `parse.go`: a document without a known kind is a
 * pipeline; `trigger.go`: an empty type is docker), then validate with the zod schema.
 *
 * Unknown fields are warnings, not errors: Drone ignores them silently and a file that
 * runs on Drone must run here; but a misspelt `when`, `branch` or `image` changes what a
 * build does, so we say so. They are dropped and the document is read again without them.
 */
export type ValidDocument =
  | { kind: 'pipeline'; type: 'docker'; spec: DockerPipeline; doc: YamlDocument }
  | { kind: 'pipeline'; type: 'exec'; spec: ExecPipeline; doc: YamlDocument }
  | { kind: 'secret'; spec: SecretDocument; doc: YamlDocument }
  | { kind: 'signature'; spec: SignatureDocument; doc: YamlDocument };

export type ValidPipeline = Extract<ValidDocument, { kind: 'pipeline' }>;

/** Pipeline types of Drone's other runners: valid Drone, but nothing here runs them. */
const OTHER_RUNNER_TYPES = new Set(['kubernetes', 'ssh', 'digitalocean', 'macstadium', 'aws', 'vm', 'nomad', 'azure', 'gcp']);
/** Kinds Drone knows but that do not describe work (drone-yaml `cron`, `registry`; runner-go `approval`, `deployment`). */
const IGNORED_KINDS = new Set(['cron', 'registry', 'approval', 'deployment']);

export function validateDocument(doc: YamlDocument): { document?: ValidDocument; findings: Finding[] } {
  const value = doc.value;
  if (value === undefined || value === null) return { findings: [] };
  const start = doc.at([]);
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Lit) {
    return { findings: [finding('error', start, 'expected a map such as `kind: pipeline` with its fields, got a list or a single value')] };
  }
  const fields = value as Record<string, unknown>;
  const kind = text(fields.kind);
  if (kind === undefined && 'pipeline' in fields && !('steps' in fields)) {
    return {
      findings: [
        finding('error', doc.at(['pipeline'], 'key'), "this is Drone 0.8's format (a `pipeline:` map of steps); runlog reads Drone 1.0+ documents (`kind: pipeline` with a `steps:` list), see `drone convert`"),
      ],
    };
  }
  switch (kind) {
    case undefined:
    case '': {
      const result = validatePipeline(doc, fields);
      const missing = finding('warning', start, 'kind is missing: read as `kind: pipeline`, as Drone does; write it out');
      return { ...result, findings: [missing, ...result.findings] };
    }
    case 'pipeline':
      return validatePipeline(doc, fields);
    case 'secret': {
      const { data, findings } = parseWith(SecretDocument, doc, false);
      return { document: data && { kind: 'secret', spec: data, doc }, findings };
    }
    case 'signature': {
      const { data, findings } = parseWith(SignatureDocument, doc, false);
      return { document: data && { kind: 'signature', spec: data, doc }, findings };
    }
    default: {
      const at = doc.at(['kind']);
      if (kind === 'template') return { findings: [finding('error', at, "kind: template (Drone's server-side templates) is not supported by runlog")] };
      if (IGNORED_KINDS.has(kind)) return { findings: [finding('warning', at, `kind: ${kind} is not used by runlog; the document is ignored`)] };
      return { findings: [finding('error', at, `unknown kind '${kind}': expected pipeline, secret or signature`)] };
    }
  }
}

/**
 * The name a pipeline document declares, read from the raw value: known even when the
 * document is invalid, so pipelines that depend on it are not told it does not exist.
 */
export function declaredPipelineName(doc: YamlDocument): string | undefined {
  const value = doc.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Lit) return undefined;
  const fields = value as Record<string, unknown>;
  const kind = text(fields.kind);
  if (kind !== undefined && kind !== '' && kind !== 'pipeline') return undefined;
  return text(fields.name) || 'default';
}

function validatePipeline(doc: YamlDocument, fields: Record<string, unknown>): { document?: ValidDocument; findings: Finding[] } {
  const type = text(fields.type) ?? '';
  switch (type) {
    case '':
    case 'docker': {
      const { data, findings } = parseWith(DockerPipeline, doc, false);
      return { document: data && { kind: 'pipeline', type: 'docker', spec: data, doc }, findings };
    }
    case 'exec': {
      const { data, findings } = parseWith(ExecPipeline, doc, true);
      return { document: data && { kind: 'pipeline', type: 'exec', spec: data, doc }, findings };
    }
    default: {
      const message = OTHER_RUNNER_TYPES.has(type)
        ? `type: ${type}: no runner type for this in runlog; it runs docker and exec pipelines`
        : `unknown type '${type}': expected docker or exec`;
      return { findings: [finding('error', doc.at(['type']), message)] };
    }
  }
}

/**
 * Parse with `schema`; unknown keys become warnings and are deleted from the document's
 * value (ours, built by `parse.ts`) before parsing again, so they cannot fail the parse.
 */
function parseWith<T>(schema: z.ZodType<T>, doc: YamlDocument, exec: boolean): { data?: T; findings: Finding[] } {
  const findings: Finding[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    const result = schema.safeParse(doc.value, { error: describeIssue });
    if (result.success) return { data: result.data, findings };
    const issues = flatten(result.error.issues as Issue[], []);
    const unknown = issues.filter((issue) => issue.code === 'unrecognized_keys');
    const errors = issues.filter((issue) => issue.code !== 'unrecognized_keys');
    for (const issue of unknown) {
      for (const key of issue.keys ?? []) {
        // A block written only to be merged elsewhere (`x-go: &go`) is not a mistake.
        if (doc.anchored([...issue.path, key])) continue;
        findings.push(finding('warning', doc.at([...issue.path, key], 'key'), ignoredFieldMessage(issue.path, key, exec)));
      }
    }
    if (errors.length > 0) {
      for (const issue of errors) findings.push(finding('error', doc.at(issue.path), `${formatPath(issue.path)}${issue.message}`));
      return { findings };
    }
    for (const issue of unknown) drop(doc.value, issue.path, (issue.keys ?? []));
  }
  return { findings: [...findings, finding('error', doc.at([]), 'the document could not be read')] };
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
  keys?: string[];
  input?: unknown;
  expected?: string;
}

/**
 * A union's issues, resolved to the branch the input was meant for: the branches that did
 * not reject the input's type outright, fewest issues first. When every branch rejects
 * the type, one issue lists what would have been accepted.
 */
function flatten(issues: Issue[], prefix: PropertyKey[]): Issue[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'invalid_union' || !issue.errors) return [{ ...issue, path }];
    const plausible = issue.errors
      .filter((branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0))
      .sort((a, b) => a.length - b.length);
    if (plausible.length > 0) return flatten(plausible[0], path);
    return [{ ...issue, path, message: issue.message }];
  });
}

function drop(root: unknown, path: PropertyKey[], keys: string[]): void {
  let target = root;
  for (const segment of path) {
    if (typeof target !== 'object' || target === null) return;
    target = (target as Record<PropertyKey, unknown>)[segment];
  }
  if (typeof target !== 'object' || target === null) return;
  for (const key of keys) delete (target as Record<string, unknown>)[key];
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Lit) return value.source;
  return undefined;
}
