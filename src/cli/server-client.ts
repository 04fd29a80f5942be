// How the API commands (`runlog build|repo|secret`) talk to a server, like the `drone` CLI:
// `--server`/RUNLOG_SERVER (default http://localhost:8080, where `runlog serve` listens) and
// `--token`/RUNLOG_TOKEN (default: the admin token `runlog serve` saved in RUNLOG_DATA, when
// there is one). Every failure becomes a message that says what to do; exit codes are
// 0 done, 1 the server refused or could not be reached, 2 the command line was wrong.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../audit/build-ref.ts';
import { reportFailure, usageFailure } from '../audit/cli-errors.ts';

export type ServerOptions = { server?: string; token?: string };

/** The server answered, but not with what was asked (or not at all): exit 1. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export type Client = {
  readonly origin: string;
  /** JSON in, JSON out; a 204 answers undefined. Throws ServerError with the server's own message. */
  request<T = unknown>(method: string, path: string, options?: { query?: Record<string, string | undefined>; json?: unknown; headers?: Record<string, string> }): Promise<{ body: T; headers: Headers }>;
};

export function openClient(options: ServerOptions, env: NodeJS.ProcessEnv = process.env, fetcher: typeof fetch = fetch): Client {
  const base = options.server?.trim() || env.RUNLOG_SERVER?.trim() || 'http://localhost:8080';
  let root: URL;
  try {
    root = new URL(base.endsWith('/') ? base : `${base}/`);
    if (root.protocol !== 'http:' && root.protocol !== 'https:') throw new TypeError('not http');
  } catch {
    throw new UsageError(`--server / RUNLOG_SERVER must be an http(s) URL like http://localhost:8080, got '${base.slice(0, 80)}'`);
  }
  const token = options.token?.trim() || env.RUNLOG_TOKEN?.trim() || savedAdminToken(env);
  const origin = `${root.origin}${root.pathname.replace(/\/$/, '')}`;
  return {
    origin,
    async request(method, path, request = {}) {
      const url = new URL(path.replace(/^\//, ''), root);
      for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
      const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      if (request.json !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetcher(url, { method, headers, ...(request.json === undefined ? {} : { body: JSON.stringify(request.json) }) });
      } catch (error) {
        throw new ServerError(`cannot reach ${origin} (${describeNetworkError(error)}): is the server running at ${origin}? set RUNLOG_SERVER or --server to its URL`);
      }
      const text = await response.text();
      if (!response.ok) throw new ServerError(refusal(response.status, messageOf(text, response.statusText), origin, token !== undefined), response.status);
      if (response.status === 204 || text === '') return { body: undefined as never, headers: response.headers };
      try {
        return { body: JSON.parse(text), headers: response.headers };
      } catch {
        throw new ServerError(`${origin} did not answer with JSON: is --server / RUNLOG_SERVER a runlog server?`);
      }
    },
  };
}

function savedAdminToken(env: NodeJS.ProcessEnv): string | undefined {
  const file = join(env.RUNLOG_DATA ?? '.runlog', 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function messageOf(text: string, fallback: string): string {
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || fallback;
}

function refusal(status: number, message: string, origin: string, hadToken: boolean): string {
  if (status === 401) return `${origin} refused: ${message}${hadToken ? '' : ' (no token given: set RUNLOG_TOKEN or --token)'}`;
  if (status === 403) return `${origin} refused: ${message} (the token's user may not do this)`;
  return `${message} (${status})`;
}

/** `owner/name`, or a UsageError that shows the form. */
export function parseSlug(value: string | undefined): { owner: string; name: string; slug: string } {
  const match = value?.match(/^([^/\s]+)\/([^/\s]+)$/);
  if (!match) throw new UsageError(value === undefined ? 'expected a repository as owner/name, like: octocat/hello' : `expected the repository as owner/name, got ${JSON.stringify(value)}`);
  return { owner: match[1]!, name: match[2]!, slug: value! };
}

export const repoPath = (slug: { owner: string; name: string }) => `/api/repos/${encodeURIComponent(slug.owner)}/${encodeURIComponent(slug.name)}`;

/** A positive whole number argument. */
export function parseNumber(value: string | undefined, what: string): number {
  const number = Number(value?.replace(/^#/, ''));
  if (value === undefined || !/^#?[0-9]+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new UsageError(`expected ${what} (1, 2, ...), got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
  }
  return number;
}

/** `KEY=value` pairs of repeated `--param` flags. */
export function parseParams(values: readonly string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of values ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--param expects KEY=value, got ${JSON.stringify(pair)}`);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return params;
}

/** Plain columns, as `drone build ls` prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export const when = (unix: number) => (unix ? new Date(unix * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

/** The flags every API command takes, beside its own. */
const clientOptions = {
  json: { type: 'boolean' },
  server: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How the usage texts end: the flags of `clientOptions`. */
export const CLIENT_FLAGS_USAGE = `  --json            the server's JSON instead of text
  --server URL      default RUNLOG_SERVER, else http://localhost:8080
  --token TOKEN     default RUNLOG_TOKEN, else the admin token runlog serve saved in .runlog
`;

type CommandOptions = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends CommandOptions> = ReturnType<typeof parseArgs<{ options: O & typeof clientOptions; allowPositionals: true }>>;

/** What a command's body gets: its parsed arguments, the server (opened when asked, so usage errors in the arguments come first), and the ways to print. */
export type ApiCommand<O extends CommandOptions> = {
  values: Parsed<O>['values'];
  positionals: string[];
  connect(): Client;
  stdout: NodeJS.WritableStream;
  /** The server's JSON under --json, else `text`. */
  show(value: unknown, text: string): void;
  /** A list: JSON under --json, `empty` when there is nothing, else the table. */
  list<T>(rows: T[], empty: string, header: string[], row: (item: T) => string[]): void;
};

/**
 * The frame of `runlog build|repo|secret`: parse (its own options and `clientOptions`),
 * answer --help, run the body, and end every failure with a message and exit code (2 a
 * wrong command line, 1 the server refused or could not be reached), never a stack.
 */
export async function runApiCommand<O extends CommandOptions>(
  command: string,
  spec: { args: string[]; options: O; usage: string },
  io: { stdout?: NodeJS.WritableStream; env?: NodeJS.ProcessEnv },
  body: (parsed: ApiCommand<O>) => Promise<number>,
): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: spec.args, allowPositionals: true, options: { ...spec.options, ...clientOptions } });
  } catch (error) {
    return usageFailure(command, (error as Error).message, spec.usage);
  }
  const { values, positionals } = parsed;
  // Typed for the caller's options; here only the shared ones are read.
  const shared = values as { help?: boolean; json?: boolean; server?: string; token?: string };
  if (shared.help) {
    stdout.write(spec.usage);
    return 0;
  }
  const json = shared.json === true;
  try {
    return await body({
      values,
      positionals,
      connect: () => openClient({ server: shared.server, token: shared.token }, io.env),
      stdout,
      show: (value, text) => stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text),
      list: (rows, empty, header, row) => stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : rows.length === 0 ? empty : table(header, rows.map(row))),
    });
  } catch (error) {
    return reportFailure(command, error);
  }
}
