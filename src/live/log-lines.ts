// A step's stored log (chunks: arbitrary cuts of one UTF-8 byte stream) as Drone's log lines
// `{pos, out, time}`, each with the SSE id a reconnecting client sends back. Pure.
//
// The id is `<pos>:<byte>`: the line's number and the byte offset just past it. Resuming
// from it means "line pos + 1 begins at that byte", so the server reads the chunks from that
// byte on and the client gets every later line exactly once, whatever the chunks' cuts.

export type LogLine = { pos: number; out: string; time: number; id: string };

/** Where the next line starts: its number and its byte offset in the step's log. */
export type LineCursor = { readonly pos: number; readonly byte: number };

export const LOG_START: LineCursor = { pos: 0, byte: 0 };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text).length;

/** The cursor after the line whose id is `id`; undefined when `id` is not one of ours. */
export function cursorAfter(id: string): LineCursor | undefined {
  const match = /^(\d{1,9}):(\d{1,15})$/.exec(id);
  if (!match) return undefined;
  return { pos: Number(match[1]) + 1, byte: Number(match[2]) };
}

export type ChunkIn = { offset: number; data: string; /** seconds since the step started */ time: number };

export interface LineSplitter {
  /** The lines a chunk completes. A chunk wholly before the cursor is ignored (a resend). Throws GapError for a chunk past it. */
  push(chunk: ChunkIn): LogLine[];
  /** The last line if it has no newline yet: call when the step ended. */
  flush(): LogLine[];
  /** The byte offset up to which chunks have been taken in (lines and the partial line). */
  readonly consumed: number;
}

export class LogGapError extends Error {
  override readonly name = 'LogGapError';
  constructor(
    readonly expected: number,
    readonly got: number,
  ) {
    super(`log chunk at byte ${got}, but the next byte needed is ${expected}`);
  }
}

export function createLineSplitter(start: LineCursor = LOG_START): LineSplitter {
  let pos = start.pos;
  let lineStart = start.byte;
  let consumed = start.byte;
  let partial = '';
  let partialTime = 0;

  const take = (out: string, time: number): LogLine => {
    lineStart += bytes(out);
    const line = { pos, out, time, id: `${pos}:${lineStart}` };
    pos += 1;
    return line;
  };

  return {
    push(chunk) {
      const raw = encoder.encode(chunk.data);
      const end = chunk.offset + raw.length;
      if (end <= consumed) return [];
      if (chunk.offset > consumed) throw new LogGapError(consumed, chunk.offset);
      // Cursor positions always fall on line or chunk ends, so this slice never splits a character.
      const fresh = chunk.offset === consumed ? chunk.data : decoder.decode(raw.subarray(consumed - chunk.offset));
      consumed = end;
      if (partial === '') partialTime = chunk.time;
      const parts = (partial + fresh).split('\n');
      partial = parts.pop()!;
      const lines: LogLine[] = [];
      for (const part of parts) {
        lines.push(take(`${part}\n`, partialTime));
        partialTime = chunk.time;
      }
      return lines;
    },
    flush() {
      if (partial === '') return [];
      const line = take(partial, partialTime);
      partial = '';
      return [line];
    },
    get consumed() {
      return consumed;
    },
  };
}
