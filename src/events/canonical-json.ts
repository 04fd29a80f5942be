// Canonical JSON: the one byte sequence an event's content hashes to, however its keys were
// ordered when it was written or how Postgres' jsonb stored it.

/**
 * Serialises `value` like `JSON.stringify` (same escaping, same numbers, `toJSON` honoured,
 * `undefined`/functions/symbols dropped from objects and `null` in arrays) but with object keys
 * sorted by UTF-16 code units and no whitespace, so equal JSON values give equal strings.
 * Throws a TypeError on what JSON cannot carry faithfully: bigint and cycles.
 */
export function canonicalJson(value: unknown): string {
  const out = write(value, new Set());
  if (out === undefined) throw new TypeError(`canonicalJson: expected a JSON value, got ${typeof value}`);
  return out;
}

function write(value: unknown, parents: Set<object>): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('canonicalJson: bigint has no JSON form; convert it to a string first');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';
  const object = value as object;
  if (parents.has(object)) throw new TypeError('canonicalJson: the value contains a cycle');
  parents.add(object);
  try {
    if (Array.isArray(object)) {
      return `[${object.map((item) => write(item, parents) ?? 'null').join(',')}]`;
    }
    // Number, String and Boolean wrapper objects serialise as their primitive, as in JSON.stringify.
    if (object instanceof Number || object instanceof String || object instanceof Boolean) {
      return write(object.valueOf(), parents);
    }
    const parts: string[] = [];
    // Plain sort (code units), not localeCompare: the order must not depend on the runtime's locale.
    for (const key of Object.keys(object).sort()) {
      const item = write((object as Record<string, unknown>)[key], parents);
      if (item !== undefined) parts.push(`${JSON.stringify(key)}:${item}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    parents.delete(object);
  }
}
