import type { StepOutput } from './engine.ts';
import { concatBytes, createLogBatcher, DEFAULT_BATCH_BYTES, DEFAULT_BATCH_INTERVAL_MS, type LogChunk, type LogSummary } from './log-batcher.ts';
import { createLogCap, DEFAULT_LOG_CAP } from './log-cap.ts';
import { createSecretMasker, secretPatterns } from './secret-masker.ts';

/**
 * One step's log on its way out of the runner:
 * engine bytes → UTF-8 decode → secret masker → size cap (head + tail) → batcher → `send`.
 * Masking comes first so that nothing downstream — the cap's buffer, the stored log, its
 * hash — ever holds a secret. The log spans the step's retries: one step, one log.
 */
export type LogLimits = {
  /** Per-step cap in bytes (default 5 MiB). */
  capBytes?: number;
  /** Batch size in bytes (default 64 KiB). */
  batchBytes?: number;
  /** Batch interval (default 1 s). */
  batchIntervalMs?: number;
};

export type StepLog = {
  /** Hand this to `Engine.runStep`. */
  output: StepOutput;
  /** Adds a line of runlog's own (a retry notice) to the log, masked like the rest. */
  note(line: string): void;
  /** Ends the log: everything sent, and its stored size and sha256. */
  finish(): Promise<LogSummary>;
};

export function createStepLog(options: {
  secrets: Iterable<string>;
  send: (chunk: LogChunk) => Promise<void>;
  limits?: LogLimits;
  /** Called on every chunk of output: the inactivity clock's input. */
  onActivity?: () => void;
}): StepLog {
  const limits = options.limits ?? {};
  const batcher = createLogBatcher({
    send: options.send,
    maxBytes: limits.batchBytes ?? DEFAULT_BATCH_BYTES,
    intervalMs: limits.batchIntervalMs ?? DEFAULT_BATCH_INTERVAL_MS,
  });
  const cap = createLogCap(limits.capBytes ?? DEFAULT_LOG_CAP, (bytes) => batcher.write(bytes));
  const masker = createSecretMasker(options.secrets);
  // With nothing to mask, bytes go straight to the cap: no decode and re-encode on the hot path.
  const masking = secretPatterns(options.secrets).length > 0;
  const characters = createCharacterSplitter();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const passText = (text: string) => {
    if (text.length > 0) cap.write(encoder.encode(text));
  };
  const pass = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    if (masking) passText(masker.write(decoder.decode(bytes)));
    else cap.write(bytes);
  };
  // An incomplete character left at a break is not UTF-8: it becomes U+FFFD.
  const passRest = () => passText(masker.write(decoder.decode(characters.rest())));

  return {
    output(chunk) {
      options.onActivity?.();
      pass(characters.take(chunk));
    },
    note(line) {
      passRest();
      passText(masker.write(`${line}\n`));
    },
    async finish() {
      passRest();
      passText(masker.end());
      cap.end();
      return batcher.close();
    },
  };
}

/**
 * Cuts a byte stream at UTF-8 character boundaries: `take` returns the whole characters
 * so far and keeps an incomplete last one for the next chunk (an engine's chunks split
 * characters anywhere). Cheaper than a streaming `TextDecoder`, which takes a slow path.
 */
export function createCharacterSplitter(): { take(chunk: Uint8Array): Uint8Array; rest(): Uint8Array } {
  let carry: Uint8Array | undefined;
  return {
    take(chunk) {
      const bytes = carry ? concatBytes([carry, chunk], carry.length + chunk.length) : chunk;
      const cut = wholeLength(bytes);
      carry = cut < bytes.length ? bytes.slice(cut) : undefined;
      return bytes.subarray(0, cut);
    },
    rest() {
      const rest = carry ?? new Uint8Array(0);
      carry = undefined;
      return rest;
    },
  };
}

/** The length of `bytes` without an incomplete character at its end. */
function wholeLength(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: the lead is further back
    const size = byte >= 0xf8 ? 1 : byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return size > back ? bytes.length - back : bytes.length;
  }
  return bytes.length; // four continuation bytes in a row: not UTF-8 anyway, pass them on
}
