import { z } from 'zod';
import { parseByteSize } from './byte-size.ts';
import { Lit } from './parse.ts';

/**
 * zod schemas for YAML scalars as go-yaml v2 decodes them into Drone's Go structs, so a
 * field reads the same value here as in Drone:
 * - a string field takes any scalar as the text it was written as (`1.10`, `yes`);
 * - a bool field takes YAML 1.1 booleans (`true`, `yes`, `on`), not the string "true";
 * - a key written with no value (`image:`) is the Go zero value, i.e. absent.
 */

const absent = (value: unknown): unknown => (value === null ? undefined : value);
const asText = (value: unknown): unknown => (value instanceof Lit ? value.source : absent(value));
const asTyped = (value: unknown): unknown => (value instanceof Lit ? value.value : absent(value));

/** A required string; `missing` is the message when it is absent or empty. */
export const requiredText = (missing = 'required') =>
  z.preprocess(asText, z.string({ error: (issue) => (issue.input === undefined ? missing : undefined) }).min(1, missing));

export const optionalText = z.preprocess(asText, z.string().optional());

/** An optional field; written with no value (`settings:`) it is absent, as go-yaml leaves the Go zero value. */
export const optional = <T extends z.ZodType>(schema: T) => z.preprocess(absent, schema.optional());

/** A number or boolean field: `schema` sees the typed value. */
export const typed = <T extends z.ZodType>(schema: T) => z.preprocess(asTyped, schema);

export const flag = z.preprocess(asTyped, z.boolean().optional());

export const count = z.preprocess(asTyped, z.number().int().nonnegative().optional());

export const textList = z.preprocess(absent, z.array(z.preprocess(asText, z.string())).optional());

export const textMap = z.preprocess(absent, z.record(z.string(), z.preprocess(asText, z.string())).optional());

/** `BytesSize`: an integer byte count or a size like "1g", "512MiB" (docker/go-units). */
export const byteSize = z.preprocess(
  (value) => {
    if (value instanceof Lit && typeof value.value === 'number' && Number.isInteger(value.value)) return value.value;
    if (typeof value === 'string') return parseByteSize(value) ?? value;
    return asTyped(value);
  },
  z
    .number({ error: (issue) => (typeof issue.input === 'string' ? `'${issue.input}' is not a size (bytes, or like 512m, 1g, 2GiB)` : undefined) })
    .int()
    .nonnegative()
    .optional(),
);

/** CPUs as a number (`1.5`) or Kubernetes millicores (`500m`), as drone-yaml's `resources` took them. */
export const cpus = z.preprocess(
  (value) => {
    if (typeof value === 'string' && /^\d+m$/.test(value)) return Number(value.slice(0, -1)) / 1000;
    return asTyped(value);
  },
  z.number().nonnegative().optional(),
);

/** Deep copy with every scalar as its source text: for `when`/`trigger`, whose values go-yaml reads as strings. */
export function asPlainText(value: unknown): unknown {
  if (value instanceof Lit) return value.source;
  if (Array.isArray(value)) return value.map(asPlainText);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== null) out[key] = asPlainText(item);
    return out;
  }
  return value;
}
