// The runner's RPC transport on Node (node:http instead of undici's fetch), against a loopback
// HTTP server: what the RPC client relies on — request, status, text, keep-alive, abort, and
// network errors that the client retries.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isIllegalCommand } from '../../src/events/decider-errors.ts';
import { createRpcClient } from '../../src/rpc/client.ts';
import { createHttpTransport } from '../../src/rpc/http-transport.ts';

type Seen = { method?: string; url?: string; headers: IncomingMessage['headers']; body: string; socket: unknown };

describe('runner RPC over node:http (given a loopback server)', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];

  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen.push({ method: request.method, url: request.url, headers: request.headers, body, socket: request.socket });
        if (request.url === '/rpc/refuse') {
          response.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'stale_lease', message: 'the lease of stage 1 is held by another runner' }));
        } else if (request.url === '/rpc/slow') {
          setTimeout(() => response.end('{}'), 5000).unref();
        } else {
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: JSON.parse(body || '{}'), ünïcode: 'ß' }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('when the client posts twice: the server gets method, secret, JSON body, on one kept-alive connection; the answer is parsed', async () => {
    const client = createRpcClient({ server: base, secret: 'transport-secret', fetch: createHttpTransport() });
    seen.length = 0;
    const first = await client.post<{ echo: unknown; ünïcode: string }>('/claim', { stage: 1, name: 'bücher' });
    const second = await client.get<{ echo: unknown }>('/stages/x');
    assert.deepEqual(first, { echo: { stage: 1, name: 'bücher' }, ünïcode: 'ß' });
    assert.deepEqual(second.echo, {});
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.url, '/rpc/claim');
    assert.equal(seen[0]!.headers.authorization, 'Bearer transport-secret');
    assert.equal(seen[0]!.headers['content-type'], 'application/json');
    assert.equal(seen[0]!.headers['content-length'], String(Buffer.byteLength(seen[0]!.body)));
    assert.equal(seen[1]!.method, 'GET');
    assert.equal(seen[1]!.socket, seen[0]!.socket, 'the second call reuses the first connection');
  });

  it('when the server refuses with a decider code: the client gets an IllegalCommand with it', async () => {
    const client = createRpcClient({ server: base, secret: 's', fetch: createHttpTransport() });
    const error = await client.post('/refuse', {}).catch((caught: unknown) => caught);
    assert.ok(isIllegalCommand(error));
    assert.equal(error.code, 'stale_lease');
  });

  it('when the signal aborts mid-call: the call rejects at once with the reason', async () => {
    const client = createRpcClient({ server: base, secret: 's', fetch: createHttpTransport() });
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(new Error('runner stopping')), 100);
    const error = await client.get('/slow', stop.signal).catch((caught: unknown) => caught);
    assert.equal((error as Error).message, 'runner stopping');
    assert.ok(Date.now() - started < 2000, `aborted after ${Date.now() - started} ms`);
  });

  it('when nothing listens: the transport rejects (a network error, which the client retries until retryForMs)', async () => {
    const client = createRpcClient({ server: 'http://127.0.0.1:1', secret: 's', retryForMs: 300, fetch: createHttpTransport() });
    const error = await client.get('/stages/x').catch((caught: unknown) => caught);
    assert.match((error as Error).message, /^runner RPC GET \/stages\/x: .*ECONNREFUSED/);
  });
});
