import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type { RpcFetch } from './client.ts';

/** Longest wait for an answer before the call counts as a network error (and is retried): undici's default. */
const ANSWER_TIMEOUT_MS = 300_000;

type Send = (url: URL, options: RequestOptions, onResponse: (response: IncomingMessage) => void) => ClientRequest;

/**
 * The runner's RPC over node:http(s) on Node, where the global `fetch` is undici: loading it
 * and compiling its WebAssembly HTTP parser costs an idle `runlog runner` about 15 MB of RSS,
 * a quarter of its budget. node:https (and TLS) is loaded only for an https:// server.
 *
 * Only what the RPC client uses: one request with a string body, the status and the text.
 * Connections are kept alive between calls, as fetch does. An aborted `signal` rejects with
 * the signal's reason; a socket error or no answer within five minutes rejects with the error.
 */
export function createHttpTransport(): RpcFetch {
  const http = { agent: new HttpAgent({ keepAlive: true }), send: httpRequest as Send };
  let https: Promise<typeof http> | undefined;
  const loadHttps = () =>
    (https ??= import('node:https').then(({ Agent, request }) => ({ agent: new Agent({ keepAlive: true }), send: request as Send })));
  return async (url, init) => {
    const target = new URL(url);
    const { agent, send } = target.protocol === 'https:' ? await loadHttps() : http;
    const body = typeof init.body === 'string' ? Buffer.from(init.body) : undefined;
    const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
    if (body) headers['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const request = send(target, { method: init.method ?? 'GET', headers, agent, signal: init.signal ?? undefined, timeout: ANSWER_TIMEOUT_MS }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status, ok: status >= 200 && status < 300, text: async () => text });
        });
      });
      request.on('timeout', () => request.destroy(new Error(`no answer from ${target.origin} within ${ANSWER_TIMEOUT_MS / 1000} s`)));
      request.on('error', (error) => reject(init.signal?.aborted ? init.signal.reason : error));
      request.end(body);
    });
  };
}

/** The transport for this runtime: node:http on Node; Bun's and Deno's own `fetch` (native, cheap) elsewhere. */
export function rpcFetchForRuntime(): RpcFetch {
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  return runtime.Bun === undefined && runtime.Deno === undefined ? createHttpTransport() : fetch;
}
