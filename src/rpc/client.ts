import { setTimeout as sleep } from 'node:timers/promises';
import { IllegalCommand, type IllegalCommandCode } from '../events/decider-errors.ts';

/** The server answered with an error that is not the decider's (a bad body, a wrong secret, a log gap). */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

// The decider's refusals travel as `{ code, message }`; the runner needs them back as
// IllegalCommand (a refused claim is termed, `stale_lease` stops the stage).
const DECIDER_CODES = new Set<string>([
  'build_not_found', 'build_exists', 'build_finished', 'build_not_blocked', 'build_blocked', 'cancel_requested',
  'cancel_already_requested', 'unknown_command', 'unknown_stage', 'unknown_step', 'stage_not_pending',
  'stage_already_claimed', 'stale_attempt', 'stage_not_claimed', 'stage_already_started', 'stage_not_running',
  'stage_ended', 'stale_lease', 'step_not_pending', 'step_not_running', 'retry_not_allowed', 'resume_gap',
  'deadline_not_reached', 'not_inactive',
] satisfies IllegalCommandCode[]);

/**
 * Refusals of a command that was sent more than once (an earlier try failed on the way, its
 * answer lost): the first try may have been recorded, and the refusal may only say so.
 */
const refusedAfterRetry = new WeakSet<IllegalCommand>();
export const isRefusalAfterRetry = (error: unknown): boolean => error instanceof IllegalCommand && refusedAfterRetry.has(error);

/** What the client needs of `fetch`: the global one, or src/rpc/http-transport.ts on Node. */
export type RpcFetch = (url: string, init: RequestInit) => Promise<Pick<Response, 'status' | 'ok' | 'text'>>;

export type RpcClient = {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T>;
};

/**
 * The runner's side of the RPC: JSON over `fetch` with the shared secret. Network errors
 * and 502/503/504 (a restarting server, a proxy) are retried with backoff for about
 * `retryForMs` (default 10 minutes): while no server answers, nobody can take a stage from
 * its runner (the reaper runs in the server), and once one does, the lease decides — a
 * runner that gave up sooner turned a slow server restart into failed builds (chaos). Answers are never retried. A command whose answer was lost may thus reach
 * the server twice — the decider refuses the second (never a double transition), and
 * `isRefusalAfterRetry` tells the runner the first may have been recorded.
 */
export function createRpcClient(options: { server: string; secret: string; retryForMs?: number; fetch?: RpcFetch }): RpcClient {
  const base = `${options.server.replace(/\/+$/, '')}/rpc`;
  const doFetch: RpcFetch = options.fetch ?? fetch;
  const retryForMs = options.retryForMs ?? 10 * 60_000;

  async function call<T>(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const started = Date.now();
    for (let wait = 100, tries = 1; ; wait = Math.min(wait * 2, 2000), tries++) {
      let response: Awaited<ReturnType<RpcFetch>> | undefined;
      let failure: unknown;
      try {
        response = await doFetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${options.secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
      } catch (error) {
        if (signal?.aborted) throw error;
        failure = error;
      }
      if (response && ![502, 503, 504].includes(response.status)) {
        const text = await response.text();
        const json = (text === '' ? {} : JSON.parse(text)) as { message?: string; code?: string };
        if (response.ok) return json as T;
        const message = json.message ?? `${method} ${path}: HTTP ${response.status}`;
        if (json.code && DECIDER_CODES.has(json.code)) {
          const refusal = new IllegalCommand(json.code as IllegalCommandCode, message);
          if (tries > 1) refusedAfterRetry.add(refusal);
          throw refusal;
        }
        throw new RpcError(response.status, message, json.code);
      }
      if (Date.now() - started > retryForMs) {
        throw failure instanceof Error ? new Error(`runner RPC ${method} ${path}: ${failure.message}`, { cause: failure }) : new RpcError(response?.status ?? 0, `runner RPC ${method} ${path}: HTTP ${response?.status}`);
      }
      await sleep(wait, undefined, { signal });
    }
  }

  return {
    get: (path, signal) => call('GET', path, undefined, signal),
    post: (path, body, signal) => call('POST', path, body, signal),
  };
}
