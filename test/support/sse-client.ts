// A minimal Server-Sent Events client over fetch (Node 20 has no EventSource): real HTTP,
// parsed as the EventSource spec says (fields, blank line ends an event, comments ignored).
export type SseEvent = { event: string; id: string | undefined; data: string };

export interface SseConnection {
  readonly status: number;
  /** The next event; rejects after `timeoutMs`, resolves undefined when the server closed the stream. */
  next(timeoutMs?: number): Promise<SseEvent | undefined>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const queued: SseEvent[] = [];
  let ended = false;
  let current: { event?: string; id?: string; data: string[] } = { data: [] };
  // A read that outlived a timeout is kept for the next call, so no bytes are lost.
  let pending: Promise<ReadableStreamReadResult<string>> | undefined;

  function parse() {
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (current.data.length > 0 || current.event) queued.push({ event: current.event ?? 'message', id: current.id, data: current.data.join('\n') });
        current = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') current.data.push(value);
      else if (field === 'event') current.event = value;
      else if (field === 'id') current.id = value;
    }
  }

  return {
    status: response.status,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (queued.length === 0 && !ended) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no SSE event from ${url} within ${timeoutMs} ms`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        pending ??= reader.read();
        const read = await Promise.race([
          pending,
          new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
        ]).finally(() => clearTimeout(timer));
        if (read === 'timeout') continue;
        pending = undefined;
        if (read.done) ended = true;
        else {
          buffer += read.value;
          parse();
        }
      }
      return queued.shift();
    },
    close() {
      abort.abort();
      reader.cancel().catch(() => {});
    },
  };
}
