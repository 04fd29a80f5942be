import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import type { Finding, Position } from './diagnostic.ts';

/**
 * Multi-document YAML → plain values that remember where they were written.
 *
 * Drone reads `.drone.yml` with a fork of go-yaml v2, i.e. YAML 1.1: `yes`/`on` are
 * booleans, `0755` is octal, `<<` merges maps. We parse with the `yaml` package in 1.1
 * mode to resolve scalars the same way, and keep each typed scalar's source text as a
 * `Lit`, because go-yaml decodes any scalar into a string field as the text it was
 * written as (`GO_VERSION: 1.10` stays "1.10", not 1.1) while an `interface{}` field such
 * as a plugin setting gets the typed value. The schema decides which of the two it wants.
 *
 * Aliases are expanded into fresh values (a file may reuse an anchor many times), with a
 * budget so a "billion laughs" document is a diagnostic, not an out-of-memory.
 */

/** A scalar YAML 1.1 resolves to a number or a boolean, with its source text. */
export class Lit {
  constructor(
    readonly value: number | boolean,
    readonly source: string,
  ) {}
}

/** One YAML document of the file. */
export interface YamlDocument {
  /** 0-based index among the documents of the file. */
  index: number;
  /** `undefined` for an empty document (Drone skips those). */
  value: unknown;
  /** Where the value at `path` was written; the nearest enclosing node when the path does not exist. `part: 'key'` points at a map key. */
  at(path: readonly PropertyKey[], part?: 'key' | 'value'): Position;
  /** Whether the value at `path` carries an anchor (`&name`): a block kept to be merged elsewhere. */
  anchored(path: readonly PropertyKey[]): boolean;
}

export interface ParsedFile {
  documents: YamlDocument[];
  /** Syntax errors; a document with a syntax error is left out of `documents`. */
  findings: Finding[];
}

/** Expanded nodes per document; a well-formed 50-step file has a few thousand. */
const NODE_BUDGET = 200_000;
const MAX_DEPTH = 64;

interface Shape {
  node: Node;
  entries?: Map<string, { key: Node | null; value: Node | null }>;
  items?: (Node | null)[];
}

class LimitExceeded extends Error {}

export function parseFile(text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const documents: YamlDocument[] = [];
  const findings: Finding[] = [];
  const position = (document: number, offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { document, line, column: col };
  };

  let parsed: Document.Parsed[];
  try {
    const result = parseAllDocuments(text, { lineCounter, version: '1.1', prettyErrors: true });
    parsed = Array.isArray(result) ? result : [];
  } catch (cause) {
    // The parser recurses on nesting; absurd depth ends in a RangeError, still user input.
    findings.push({ severity: 'error', document: 0, line: 1, column: 1, message: `YAML could not be parsed: ${describe(cause)}` });
    return { documents, findings };
  }

  parsed.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        findings.push({ severity: 'error', ...position(index, error.pos[0]), message: `YAML syntax: ${firstLine(error.message)}` });
      }
      return;
    }
    const shapes = new WeakMap<object, Shape>();
    const root = doc.contents as Node | null;
    let value: unknown;
    try {
      value = root === null ? undefined : toValue(root, doc, shapes, { budget: NODE_BUDGET }, new Set(), 0);
    } catch (cause) {
      const offset = root?.range?.[0] ?? 0;
      const message =
        cause instanceof LimitExceeded ? cause.message : `YAML could not be read: ${describe(cause)}`;
      findings.push({ severity: 'error', ...position(index, offset), message });
      return;
    }
    const start = root?.range?.[0] ?? 0;
    documents.push({
      index,
      value,
      at: (path, part = 'value') => position(index, locate(value, shapes, path, part)?.range?.[0] ?? start),
      anchored: (path) => Boolean(locate(value, shapes, path, 'value')?.anchor),
    });
  });
  return { documents, findings };
}

function toValue(
  node: Node,
  doc: Document.Parsed,
  shapes: WeakMap<object, Shape>,
  counter: { budget: number },
  expanding: Set<Node>,
  depth: number,
): unknown {
  if (--counter.budget < 0) throw new LimitExceeded(`document too large: more than ${NODE_BUDGET} values after expanding aliases`);
  if (depth > MAX_DEPTH) throw new LimitExceeded(`document nested deeper than ${MAX_DEPTH} levels`);
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (!target || expanding.has(target)) throw new LimitExceeded(`alias *${node.source} refers to itself or to nothing`);
    expanding.add(target);
    try {
      return toValue(target, doc, shapes, counter, expanding, depth + 1);
    } finally {
      expanding.delete(target);
    }
  }
  if (isScalar(node)) return scalarValue(node.value, node.source);
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    const entries = new Map<string, { key: Node | null; value: Node | null }>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      if (isMergeKey(key)) {
        mergeInto(out, entries, valueNode, doc, shapes, counter, expanding, depth);
        continue;
      }
      const name = keyText(key);
      set(out, name, valueNode === null ? null : toValue(valueNode, doc, shapes, counter, expanding, depth + 1));
      entries.set(name, { key, value: valueNode });
    }
    shapes.set(out, { node, entries });
    return out;
  }
  if (isSeq(node)) {
    const items = node.items as (Node | null)[];
    const out = items.map((item) => (item === null ? null : toValue(item, doc, shapes, counter, expanding, depth + 1)));
    shapes.set(out, { node, items });
    return out;
  }
  return null;
}

/**
 * `<<: *defaults` or `<<: [*a, *b]`. go-yaml v2 applies a merge where it stands (later
 * keys override it, it overrides earlier keys) and, for a list, lets earlier maps win.
 */
function mergeInto(
  out: Record<string, unknown>,
  entries: Map<string, { key: Node | null; value: Node | null }>,
  source: Node | null,
  doc: Document.Parsed,
  shapes: WeakMap<object, Shape>,
  counter: { budget: number },
  expanding: Set<Node>,
  depth: number,
): void {
  if (source === null) return;
  const sources = isSeq(source) ? [...(source.items as Node[])].reverse() : [source];
  for (const item of sources) {
    const merged = toValue(item, doc, shapes, counter, expanding, depth + 1);
    if (merged === null || typeof merged !== 'object' || Array.isArray(merged)) continue;
    const shape = shapes.get(merged);
    for (const [name, value] of Object.entries(merged)) {
      set(out, name, value);
      entries.set(name, shape?.entries?.get(name) ?? { key: item, value: item });
    }
  }
}

function isMergeKey(key: Node | null): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || (key.value === '<<' && key.type === 'PLAIN'));
}

function keyText(key: Node | null): string {
  if (key === null) return '';
  if (isScalar(key)) return key.source ?? String(key.value ?? '');
  return String(key);
}

/** `__proto__` is a legal key in YAML; define it as data, never as the prototype. */
function set(out: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

function scalarValue(value: unknown, source: string | undefined): unknown {
  if (typeof value === 'string' || value === null) return value;
  if (typeof value === 'number' || typeof value === 'boolean') return new Lit(value, source ?? String(value));
  if (typeof value === 'bigint') return new Lit(Number(value), source ?? String(value));
  // go-yaml v2 keeps timestamps as strings for interface{} and string targets.
  if (value instanceof Date) return source ?? value.toISOString();
  // !!binary decodes to its bytes; go-yaml gives a string of them.
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return source ?? String(value);
}

/** The node written at `path`, or the nearest enclosing one when the path goes further than the document. */
function locate(root: unknown, shapes: WeakMap<object, Shape>, path: readonly PropertyKey[], part: 'key' | 'value'): Node | undefined {
  let value = root;
  let found = typeof root === 'object' && root !== null ? shapes.get(root)?.node : undefined;
  for (let i = 0; i < path.length; i++) {
    const shape = typeof value === 'object' && value !== null ? shapes.get(value) : undefined;
    if (!shape) break;
    const segment = path[i];
    let node: Node | null | undefined;
    if (shape.entries && typeof segment === 'string') {
      const entry = shape.entries.get(segment);
      if (!entry) break;
      node = i === path.length - 1 && part === 'key' ? entry.key : (entry.value ?? entry.key);
      value = (value as Record<string, unknown>)[segment];
    } else if (shape.items && typeof segment === 'number') {
      node = shape.items[segment];
      value = (value as unknown[])[segment];
    } else {
      break;
    }
    if (!node?.range) break;
    found = node;
  }
  return found;
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function describe(cause: unknown): string {
  return cause instanceof Error ? firstLine(cause.message) : String(cause);
}
