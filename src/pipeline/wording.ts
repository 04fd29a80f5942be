import type { z } from 'zod';
import { Lit } from './parse.ts';
import { DockerPipeline, DockerStep, ExecPipeline, ExecStep } from './spec.ts';

/**
 * How validation problems are said: the path in the document as a user would point at it
 * (`steps[2].image`), what was expected and what was written instead, in words.
 */

/** `['steps', 2, 'image']` → `steps[2].image: `; the root → empty. */
export function formatPath(path: readonly PropertyKey[]): string {
  const where = pathText(path);
  return where ? `${where}: ` : '';
}

export function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out ? `.${String(segment)}` : String(segment);
  return out;
}

/** The per-parse zod error map: every message not set on the schema itself. */
export function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${expectedWords(issue.expected)}, got ${describeValue(issue.input)}${colonHint(issue.expected, issue.input)}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at least ${issue.minimum} item(s)`;
      return issue.inclusive ? `must be at least ${issue.minimum}` : `must be more than ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${issue.maximum} item(s)`;
      return issue.inclusive ? `must be at most ${issue.maximum}` : `must be less than ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}, got ${describeValue(issue.input)}`;
    case 'invalid_union': {
      const expected = [
        ...new Set(
          issue.errors.flatMap((branch) =>
            branch.filter((inner) => inner.code === 'invalid_type' && inner.path.length === 0).map((inner) => expectedWords((inner as { expected: string }).expected)),
          ),
        ),
      ];
      return expected.length > 0 ? `expected ${expected.join(' or ')}, got ${describeValue(issue.input)}` : undefined;
    }
    case 'unrecognized_keys':
      return `unknown field(s) ${issue.keys.join(', ')}`;
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_key':
    case 'invalid_element':
    case 'custom':
      return undefined;
    default: {
      const never: never = issue;
      return never;
    }
  }
}

function expectedWords(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
    case 'int':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
    case 'map':
      return 'a map';
    default:
      return expected;
  }
}

export function describeValue(input: unknown): string {
  if (input === undefined || input === null) return 'nothing';
  if (typeof input === 'string') return `the string '${input.length > 40 ? `${input.slice(0, 37)}...` : input}'`;
  if (input instanceof Lit) return typeof input.value === 'boolean' ? `the boolean ${input.source}` : `the number ${input.source}`;
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a map';
  return String(input);
}

/** `- echo a: b` is a map in YAML; it is the classic way a command stops being a string. */
function colonHint(expected: string, input: unknown): string {
  if (expected !== 'string' || typeof input !== 'object' || input === null || Array.isArray(input) || input instanceof Lit) return '';
  return Object.keys(input).length === 1 ? " (a ': ' inside a value makes YAML read a map; quote the whole value)" : '';
}

/** Fields Drone (or an older Drone) accepts that runlog deliberately does not apply. */
const IGNORED: Record<string, string> = {
  ports: "is ignored, as Drone's docker runner does; services are reachable by their name",
  devices: 'is not supported by runlog; ignored',
  shell: 'is ignored: commands run with /bin/sh (PowerShell on Windows), as in Drone',
  ipc: 'is not supported by runlog; ignored',
  build: "is ignored, as Drone's docker runner does; build images with a plugins/docker step",
  push: "is ignored, as Drone's docker runner does; push images with a plugins/docker step",
  secrets: "is Drone 0.8's form and is ignored; write environment: { NAME: { from_secret: name } }",
  branches: "is Drone 0.8's form and is ignored; write trigger: { branch: [...] }",
  group: "is Drone 0.8's form and is ignored; write depends_on",
  matrix: "is Drone 0.8's form and is ignored; write one pipeline per combination",
};

const dockerOnly = new Set([...Object.keys(DockerPipeline.shape), ...Object.keys(DockerStep.shape)]);
const execFields = new Set([...Object.keys(ExecPipeline.shape), ...Object.keys(ExecStep.shape)]);

/** Every field name any document may hold, for "did you mean". */
const known = [
  ...new Set([
    ...dockerOnly,
    ...execFields,
    ...['branch', 'event', 'ref', 'repo', 'instance', 'status', 'target', 'cron', 'action', 'paths', 'include', 'exclude'],
    ...['os', 'arch', 'variant', 'version', 'disable', 'depth', 'retries', 'skip_verify', 'trace', 'base', 'path', 'limit'],
    ...['temp', 'host', 'medium', 'size_limit', 'limits', 'requests', 'cpu', 'memory', 'exit_codes', 'hmac', 'data', 'get', 'key'],
  ]),
];

export function ignoredFieldMessage(path: readonly PropertyKey[], key: string, exec: boolean): string {
  const where = pathText([...path, key]);
  if (exec && dockerOnly.has(key) && !execFields.has(key)) return `${where}: not used by exec pipelines; ignored`;
  // 0.8's top-level `branches:`; inside `when`/`trigger` the same word is a misspelt `branch`.
  const reason = key === 'branches' && path.length > 0 ? undefined : IGNORED[key];
  if (reason) return `${where}: ${reason}`;
  const guess = nearest(key);
  return `${where}: unknown field, ignored as Drone ignores it${guess ? ` (did you mean '${guess}'?)` : ''}`;
}

function nearest(key: string): string | undefined {
  const threshold = Math.min(2, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = threshold + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
