import { createHash } from 'node:crypto';

/**
 * Groups a step's log bytes into chunks for storage: a chunk goes out when about
 * `maxBytes` are buffered or `intervalMs` after the first unsent byte, whichever comes
 * first, and at `close()`. One request per line would swamp the server (Drone batches
 * the same way, every second); one request per step would leave live viewers blind.
 *
 * Contract:
 * - `send` gets the chunks in order, one at a time (the next waits for the previous), each
 *   with its byte `offset` in the step's stored log, so a receiver can detect gaps and
 *   drop a duplicate resend.
 * - Writes should be whole UTF-8 characters (the step log's splitter and the cap cut only
 *   between characters). Bytes that are not UTF-8 are stored as U+FFFD, and the size and
 *   hash are always those of the stored text's UTF-8.
 * - `close()` sends what is left and resolves with the size and sha256 of everything sent
 *   — the stored log, which `StepFinished` records. The first failed `send` stops further
 *   sends and `close()` rejects with its error (e.g. a stale lease: the runner must stop).
 *
 * Memory: a slow `send` lets chunks queue up; the cap in front bounds them to the step's
 * cap (5 MiB by default), so nothing here grows without limit.
 *
 * `node:crypto` is used for the running hash because Web Crypto cannot hash
 * incrementally; Bun and Deno provide it too.
 */
export const DEFAULT_BATCH_BYTES = 64 * 1024;
export const DEFAULT_BATCH_INTERVAL_MS = 1000;

export type LogChunk = { offset: number; data: string };
export type LogSummary = { size: number; sha256: string };

export type LogBatcher = {
  write(bytes: Uint8Array): void;
  /** Sends what is buffered now; resolves when every chunk so far has been sent. */
  flush(): Promise<void>;
  close(): Promise<LogSummary>;
};

export function createLogBatcher(options: {
  send: (chunk: LogChunk) => Promise<void>;
  maxBytes?: number;
  intervalMs?: number;
}): LogBatcher {
  const maxBytes = options.maxBytes ?? DEFAULT_BATCH_BYTES;
  const intervalMs = options.intervalMs ?? DEFAULT_BATCH_INTERVAL_MS;
  const strict = new TextDecoder('utf-8', { fatal: true });
  const lenient = new TextDecoder();
  const encoder = new TextEncoder();
  const hash = createHash('sha256');
  let buffered: Uint8Array[] = [];
  let bufferedSize = 0;
  let offset = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sending: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  let closed = false;

  function cut(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (bufferedSize === 0) return;
    // Piece by piece: no copy into one buffer (pieces are whole characters, so each decodes alone).
    let data = '';
    let size = 0;
    for (const piece of buffered) {
      let text: string;
      let stored = piece;
      try {
        text = strict.decode(piece);
      } catch {
        // Not UTF-8: store the text with U+FFFD, and hash and count exactly what is stored.
        text = lenient.decode(piece);
        stored = encoder.encode(text);
      }
      hash.update(stored);
      size += stored.length;
      data += text;
    }
    buffered = [];
    bufferedSize = 0;
    const chunk = { offset, data };
    offset += size;
    sending = sending.then(async () => {
      if (failure) return;
      try {
        await options.send(chunk);
      } catch (error) {
        failure = { error };
      }
    });
  }

  return {
    write(bytes) {
      if (closed) throw new Error('log batcher: write after close');
      if (bytes.length === 0) return;
      buffered.push(bytes);
      bufferedSize += bytes.length;
      if (bufferedSize >= maxBytes) cut();
      else if (timer === undefined) timer = setTimeout(cut, intervalMs);
    },
    async flush() {
      cut();
      await sending;
      if (failure) throw failure.error;
    },
    async close() {
      closed = true;
      cut();
      await sending;
      if (failure) throw failure.error;
      return { size: offset, sha256: hash.digest('hex') };
    },
  };
}

/** Joins byte arrays of known total size (Web standard only: no `Buffer`). */
export function concatBytes(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
