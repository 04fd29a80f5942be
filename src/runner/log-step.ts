import type { StepOutput } from './engine.ts';
import { createLogBatcher, DEFAULT_BATCH_BYTES, DEFAULT_BATCH_INTERVAL_MS, type LogChunk, type LogSummary } from './log-batcher.ts';
import { createLogCap, DEFAULT_LOG_CAP } from './log-cap.ts';
import { createSecretMasker } from './secret-masker.ts';

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
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const pass = (text: string) => {
    if (text.length > 0) cap.write(encoder.encode(text));
  };

  return {
    output(chunk) {
      options.onActivity?.();
      pass(masker.write(decoder.decode(chunk, { stream: true })));
    },
    note(line) {
      pass(masker.write(decoder.decode() + line + '\n'));
    },
    async finish() {
      pass(masker.write(decoder.decode()));
      pass(masker.end());
      cap.end();
      return batcher.close();
    },
  };
}
