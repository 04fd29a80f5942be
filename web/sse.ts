import { authHeaders } from './api.ts';

export type ServerEvent = { id?: string; event: string; data: string };

/** Parses a text/event-stream body incrementally: feed it chunks, it returns the complete events so far. */
export function sseParser(): (chunk: string) => ServerEvent[] {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    const events: ServerEvent[] = [];
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer[end] === '\r' ? 4 : 2));
      const event: ServerEvent = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
      }
      if (data.length > 0) events.push({ ...event, data: data.join('\n') });
    }
    return events;
  };
}

/**
 * Follows a Server-Sent Events stream with the token in a header (EventSource cannot send
 * one), resuming with `Last-Event-ID` after a drop so nothing is missed or seen twice.
 * `onUnavailable` is called when the server has no such stream (the caller polls instead).
 * `onOpen` is called when the stream opens with nothing to resume from: a change made between
 * the caller's load and that moment is in no event, so a caller showing loaded data reloads.
 */
export function subscribe(url: string, handlers: { onEvent(event: ServerEvent): void; onUnavailable?(): void; onOpen?(): void }): () => void {
  const stop = new AbortController();
  let lastId: string | undefined;
  (async () => {
    let delay = 500;
    while (!stop.signal.aborted) {
      try {
        const response = await fetch(url, {
          headers: { ...authHeaders(), accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
          signal: stop.signal,
        });
        if (response.status === 404 || response.status === 501) return handlers.onUnavailable?.();
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        delay = 500;
        if (lastId === undefined) handlers.onOpen?.();
        const parse = sseParser();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parse(value)) {
            if (event.id) lastId = event.id;
            handlers.onEvent(event);
            if (event.event === 'done') return; // the stream's last word (a finished step's log)
          }
        }
      } catch {
        if (stop.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
  return () => stop.abort();
}
