// The export file: NDJSON, one JSON value per line, deterministic to the byte, so exporting,
// importing elsewhere and exporting again gives the same file (and the same sha256). Pure.
//
//   {"runlog_export":1,"selection":{...}}                      the header: format and what was selected
//   {"position":"42","stream":"build-…","version":3,...}       one line per event, in log order
//   {"log":{"build":"…","stage":1,"step":2,"offset":0,...}}    log chunks (with --logs), by step and offset
//   {"head":{"stream":"build-…","version":25,"hash":"…"}}     the manifest: every stream's head, by stream id
//   {"end":{"events":1000,"streams":40,"logs":0}}              the last line: a truncated file has none
//
// Event lines carry what makes the log auditable elsewhere: the global position (kept on
// import, so positions in an audit trail stay valid), the stream and version, type, data and
// metadata (canonical JSON: the bytes the hash covers), the time it was recorded (to the
// microsecond), and prev_hash/hash unchanged. The transaction id is not exported: it is
// physical, and the line order carries the log order it stood for.
import { z } from 'zod';
import { canonicalJson } from '../events/canonical-json.ts';

export const EXPORT_FORMAT = 1;

export interface ExportSelection {
  /** owner/name: that repo's stream and its builds' streams. */
  readonly repo?: string;
  /** Streams whose first event was recorded at or after this time (ISO). */
  readonly since?: string;
  /** ... and before this time. */
  readonly until?: string;
}

export interface ExportedEvent {
  readonly position: string;
  readonly stream: string;
  readonly version: number;
  readonly type: string;
  /** ISO 8601 UTC with microseconds, as Postgres stores it. */
  readonly recordedAt: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

export interface ExportedChunk {
  readonly build: string;
  readonly stage: number;
  readonly step: number;
  readonly offset: number;
  readonly size: number;
  readonly created: string;
  readonly data: string;
}

export interface ExportHead {
  readonly stream: string;
  readonly version: number;
  readonly hash: string;
}

export interface ExportEnd {
  readonly events: number;
  readonly streams: number;
  readonly logs: number;
}

const str = JSON.stringify;

export const headerLine = (selection: ExportSelection): string => `{"runlog_export":${EXPORT_FORMAT},"selection":${canonicalJson(selection)}}`;

export const eventLine = (event: ExportedEvent): string =>
  `{"position":${str(event.position)},"stream":${str(event.stream)},"version":${event.version},"type":${str(event.type)},` +
  `"recorded_at":${str(event.recordedAt)},"data":${canonicalJson(event.data)},"metadata":${canonicalJson(event.metadata)},` +
  `"prev_hash":${str(event.prevHash)},"hash":${str(event.hash)}}`;

export const logLine = (chunk: ExportedChunk): string =>
  `{"log":{"build":${str(chunk.build)},"stage":${chunk.stage},"step":${chunk.step},"offset":${chunk.offset},"size":${chunk.size},"created":${str(chunk.created)},"data":${str(chunk.data)}}}`;

export const headLine = (head: ExportHead): string => `{"head":{"stream":${str(head.stream)},"version":${head.version},"hash":${str(head.hash)}}}`;

export const endLine = (end: ExportEnd): string => `{"end":{"events":${end.events},"streams":${end.streams},"logs":${end.logs}}}`;

// ---------------------------------------------------------------------------------------
// Reading

const Hash = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const Time = z.string().refine((text) => !Number.isNaN(Date.parse(text)), 'expected an ISO 8601 time');

const HeaderJson = z.object({
  runlog_export: z.number().int(),
  selection: z.object({ repo: z.string().optional(), since: z.string().optional(), until: z.string().optional() }).strict(),
}).strict();
const EventJson = z.object({
  position: z.string().regex(/^[1-9][0-9]{0,18}$/, 'expected a global position (decimal digits)'),
  stream: z.string().min(1),
  version: z.number().int().positive(),
  type: z.string().min(1),
  recorded_at: Time,
  data: z.unknown().refine((value) => value !== undefined, 'required'),
  metadata: z.record(z.string(), z.unknown()),
  prev_hash: Hash,
  hash: Hash,
}).strict();
const LogJson = z.object({
  log: z.object({
    build: z.uuid(),
    stage: z.number().int().positive(),
    step: z.number().int().positive(),
    offset: z.number().int().nonnegative(),
    size: z.number().int().nonnegative(),
    created: Time,
    data: z.string(),
  }).strict(),
}).strict();
const HeadJson = z.object({ head: z.object({ stream: z.string().min(1), version: z.number().int().positive(), hash: Hash }).strict() }).strict();
const EndJson = z.object({ end: z.object({ events: z.number().int().nonnegative(), streams: z.number().int().nonnegative(), logs: z.number().int().nonnegative() }).strict() }).strict();

export type ExportLine =
  | { readonly kind: 'header'; readonly format: number; readonly selection: ExportSelection }
  | { readonly kind: 'event'; readonly event: ExportedEvent }
  | { readonly kind: 'log'; readonly chunk: ExportedChunk }
  | { readonly kind: 'head'; readonly head: ExportHead }
  | { readonly kind: 'end'; readonly end: ExportEnd };

/** A line that is not what the format allows there; `line` is 1-based. */
export class ExportFormatError extends Error {
  override readonly name = 'ExportFormatError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Reads one line of an export file; throws ExportFormatError saying what is wrong with it. */
export function parseExportLine(text: string, line: number): ExportLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ExportFormatError(line, `not JSON (${(error as Error).message}); is this a runlog export file?`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ExportFormatError(line, 'expected a JSON object');
  const kind = 'runlog_export' in value ? HeaderJson : 'log' in value ? LogJson : 'head' in value ? HeadJson : 'end' in value ? EndJson : EventJson;
  const parsed = kind.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'line'}: ${issue.message}`).join('; ');
    throw new ExportFormatError(line, issues);
  }
  const data = parsed.data as unknown as Record<string, never>;
  if (kind === HeaderJson) return { kind: 'header', format: data.runlog_export, selection: data.selection };
  if (kind === LogJson) return { kind: 'log', chunk: data.log };
  if (kind === HeadJson) return { kind: 'head', head: data.head };
  if (kind === EndJson) return { kind: 'end', end: data.end };
  const event = parsed.data as z.infer<typeof EventJson>;
  return {
    kind: 'event',
    event: {
      position: event.position,
      stream: event.stream,
      version: event.version,
      type: event.type,
      recordedAt: event.recorded_at,
      data: event.data,
      metadata: event.metadata,
      prevHash: event.prev_hash,
      hash: event.hash,
    },
  };
}

/**
 * Checks the order of line kinds as they come: a header first, then events, logs, heads and
 * the end line last. Returns the next state; throws ExportFormatError on a line out of place.
 */
export type ExportSection = 'start' | 'header' | 'events' | 'logs' | 'heads' | 'end';
export function nextSection(section: ExportSection, line: ExportLine, lineNumber: number): ExportSection {
  const order: Record<ExportLine['kind'], ExportSection> = { header: 'header', event: 'events', log: 'logs', head: 'heads', end: 'end' };
  const rank: Record<ExportSection, number> = { start: 0, header: 1, events: 2, logs: 3, heads: 4, end: 5 };
  if (section === 'start' && line.kind !== 'header') throw new ExportFormatError(lineNumber, 'expected the header {"runlog_export":1,...} first; is this a runlog export file?');
  if (section !== 'start' && line.kind === 'header') throw new ExportFormatError(lineNumber, 'a second header: two exports were joined; import them one at a time');
  if (section === 'end') throw new ExportFormatError(lineNumber, 'a line after the end line');
  if (line.kind === 'header' && line.format !== EXPORT_FORMAT) {
    throw new ExportFormatError(lineNumber, `export format ${line.format}, this runlog reads format ${EXPORT_FORMAT}; use the runlog version that wrote it`);
  }
  const next = order[line.kind];
  if (rank[next] < rank[section]) throw new ExportFormatError(lineNumber, `a ${line.kind} line after the ${section} section`);
  return next;
}
