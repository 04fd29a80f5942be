import { Lit } from './parse.ts';
import type { EnvValue } from './plan.ts';

/**
 * Plugin `settings` → `PLUGIN_*` variables, exactly as drone-runner-docker does it
 * (`engine/compiler/step.go` and `internal/encoder/encoder.go`), so every Drone plugin
 * reads the values it was written for:
 * - the name is `PLUGIN_` + the key upper-cased, nothing else (`auto_tag` → `PLUGIN_AUTO_TAG`,
 *   `autoTag` → `PLUGIN_AUTOTAG`);
 * - `{ from_secret: name }` becomes a secret reference, resolved by the runner;
 * - a setting with no value is left out (drone/drone-yaml#13);
 * - strings are passed as they are, booleans as `true`/`false`, integers in decimal,
 *   floats as Go's `%g` prints them (`1.5`, `1e+06`);
 * - a list of scalars is joined with commas (`[a, b]` → `a,b`);
 * - any other list, and every map, is JSON with sorted keys and Go's HTML-safe escaping.
 */
export function pluginEnvironment(settings: Record<string, unknown>): Record<string, EnvValue> {
  const env: Record<string, EnvValue> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === null || value === undefined) continue;
    const name = `PLUGIN_${key.toUpperCase()}`;
    const secret = secretName(value);
    env[name] = secret !== undefined ? { secret } : { value: encodeSetting(value) };
  }
  return env;
}

/** The secret a `{ from_secret: name }` value refers to; go-yaml ignores other keys beside it. */
export function secretName(value: unknown): string | undefined {
  if (!isMap(value)) return undefined;
  const ref = value.from_secret;
  const name = typeof ref === 'string' ? ref : ref instanceof Lit ? ref.source : undefined;
  return name ? name : undefined;
}

export function encodeSetting(value: unknown): string {
  if (Array.isArray(value)) {
    return value.every(isScalar) ? value.map((item) => (item === null ? '' : scalarText(item))).join(',') : goJson(value);
  }
  if (isMap(value)) return goJson(value);
  return value === null || value === undefined ? '' : scalarText(value);
}

type Scalar = string | Lit | null;

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || value instanceof Lit;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Lit);
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Lit) {
    if (typeof value.value === 'boolean') return String(value.value);
    return isIntegerLiteral(value.source) ? String(value.value) : goFloat(value.value);
  }
  return String(value);
}

/** YAML 1.1 integer forms: decimal, 0b, 0x, leading-0 octal, sexagesimal, `_` separators. */
function isIntegerLiteral(source: string): boolean {
  return /^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)$/.test(source);
}

/** Go's `strconv.FormatFloat(v, 'g', -1, 64)`: shortest digits, exponent form below 1e-4 and from 1e6. */
export function goFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

/** ghodss/yaml `YAMLToJSON`: keys sorted, numbers and booleans typed, HTML characters escaped as Go's encoder does. */
function goJson(value: unknown): string {
  return JSON.stringify(toJson(value)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function toJson(value: unknown): unknown {
  if (value instanceof Lit) return typeof value.value === 'number' && !Number.isFinite(value.value) ? null : value.value;
  if (Array.isArray(value)) return value.map(toJson);
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (key === '__proto__') Object.defineProperty(out, key, { value: toJson(value[key]), enumerable: true, writable: true, configurable: true });
      else out[key] = toJson(value[key]);
    }
    return out;
  }
  return value ?? null;
}
