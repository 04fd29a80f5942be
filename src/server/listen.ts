/**
 * Serves a fetch handler on a TCP port with whatever runtime runs us: the one place where
 * Node, Bun and Deno differ for HTTP. Resolves once the port is bound, with the port
 * actually bound (0 asks for a free one) and a `close` that stops accepting connections.
 */
export type Listener = { port: number; close(): Promise<void> };
type FetchHandler = (request: Request) => Response | Promise<Response>;

declare const Bun: { serve(options: { port: number; hostname: string; fetch: FetchHandler; idleTimeout?: number }): { port: number; stop(force?: boolean): Promise<void> | void } } | undefined;
declare const Deno:
  | { serve(options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void }, handler: FetchHandler): { addr: { port: number }; shutdown(): Promise<void> } }
  | undefined;

export async function listen(fetch: FetchHandler, port: number, hostname = '0.0.0.0'): Promise<Listener> {
  if (typeof Bun !== 'undefined') {
    // idleTimeout 0: live log streams may stay quiet for long; Bun would cut them at 10 s.
    const server = Bun.serve({ port, hostname, fetch, idleTimeout: 0 });
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  if (typeof Deno !== 'undefined') {
    const server = Deno.serve({ port, hostname, onListen: () => {} }, fetch);
    return { port: server.addr.port, close: () => server.shutdown() };
  }
  const { serve } = await import('@hono/node-server');
  return new Promise((resolve) => {
    const server = serve({ fetch, port, hostname }, (info) =>
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      }),
    );
  });
}
