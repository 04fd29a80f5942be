import { createHash } from 'node:crypto';

/**
 * The pool key of a set of node labels: the first 12 hex digits of the sha256 of the sorted
 * `key=value` lines, or 'any' when there are none. Stable across processes and versions
 * (the dispatcher names NATS subjects and durable consumers with it, so changing it strands
 * queued work): a runner and a stage with equal labels get equal keys. Hex only, so it is
 * a valid NATS subject token.
 */
export function labelsKey(labels: Readonly<Record<string, string>>): string {
  const lines = Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .sort();
  if (lines.length === 0) return 'any';
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 12);
}
