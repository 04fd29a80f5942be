import { concatBytes } from './log-batcher.ts';

/**
 * The per-step log size cap. Drone keeps only the last 5 MB of a step silently; runlog
 * keeps the **head and the tail** — the head says how the step began (versions, config),
 * the tail how it ended (the error) — with a visible marker line between them saying how
 * much was cut.
 *
 * Streaming contract: bytes up to the head's budget pass straight on; after that the
 * newest bytes are held (at most the tail's budget) and passed on by `end()`, after the
 * marker when anything was dropped. So live viewers see the head at once and the tail
 * when the step ends; memory stays bounded by the cap whatever the step prints.
 * Everything passed on is at most `limit` bytes in total and is cut only at UTF-8
 * character boundaries (at a line break when one is near), so each piece decodes alone.
 */
export const DEFAULT_LOG_CAP = 5 * 1024 * 1024;

/** Room kept for the marker line, so head + marker + tail never exceed the cap. */
const MARKER_RESERVE = 256;
/** How far back from a cut we look for a line break to cut at instead. */
const LINE_SEARCH = 4096;
const NEWLINE = 0x0a;

export type LogCap = {
  write(bytes: Uint8Array): void;
  /** Passes on the held tail (and the marker); the cap is then spent. */
  end(): void;
};

export type LogCapStats = { cutBytes: number; cutLines: number };

export function createLogCap(limit: number, next: (bytes: Uint8Array) => void): LogCap & { stats(): LogCapStats } {
  if (!Number.isInteger(limit) || limit < 4 * MARKER_RESERVE) {
    throw new RangeError(`log cap must be an integer of at least ${4 * MARKER_RESERVE} bytes, got ${limit}`);
  }
  const headBudget = Math.floor((limit - MARKER_RESERVE) / 2);
  const tailBudget = limit - MARKER_RESERVE - headBudget;

  let headUsed = 0;
  let headOpen = true;
  let headEndsLine = true;
  const tail: Uint8Array[] = [];
  let tailSize = 0;
  let cutBytes = 0;
  let cutLines = 0;

  function drop(bytes: Uint8Array): void {
    cutBytes += bytes.length;
    cutLines += countNewlines(bytes);
  }

  function hold(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    tail.push(bytes);
    tailSize += bytes.length;
    while (tailSize > tailBudget) {
      const first = tail[0];
      const excess = tailSize - tailBudget;
      if (first.length <= excess) {
        tail.shift();
        tailSize -= first.length;
        drop(first);
      } else {
        tail[0] = first.subarray(excess);
        tailSize -= excess;
        drop(first.subarray(0, excess));
      }
    }
  }

  return {
    write(bytes) {
      if (!headOpen) return hold(bytes);
      const room = headBudget - headUsed;
      if (bytes.length <= room) {
        headUsed += bytes.length;
        if (bytes.length > 0) {
          headEndsLine = bytes[bytes.length - 1] === NEWLINE;
          next(bytes);
        }
        return;
      }
      headOpen = false;
      const cut = cutPoint(bytes, room, headEndsLine);
      if (cut > 0) {
        headEndsLine = bytes[cut - 1] === NEWLINE;
        next(bytes.subarray(0, cut));
      }
      hold(bytes.subarray(cut));
    },
    end() {
      if (cutBytes === 0) {
        for (const bytes of tail) next(bytes);
      } else {
        // The tail's first bytes may be the middle of a line or of a character: start it at
        // the next line (or character) so the log reads cleanly after the marker.
        const held = concatBytes(tail, tailSize);
        const start = tailStart(held);
        drop(held.subarray(0, start));
        const marker =
          `${headEndsLine ? '' : '\n'}` +
          `--- runlog: ${cutBytes} bytes (${cutLines} lines) cut here; this step's log is capped at ${limit} bytes, the first and last parts are kept ---\n`;
        next(new TextEncoder().encode(marker));
        if (start < held.length) next(held.subarray(start));
      }
      tail.length = 0;
      tailSize = 0;
    },
    stats: () => ({ cutBytes, cutLines }),
  };
}

/**
 * Where to end the head within `bytes` given `room` bytes left: after a nearby line break
 * (or before `bytes` when the head so far ends a line and no break fits), else at a
 * character boundary.
 */
function cutPoint(bytes: Uint8Array, room: number, afterLine: boolean): number {
  if (room <= 0) return 0;
  const newline = bytes.lastIndexOf(NEWLINE, room - 1);
  if (newline >= 0 && room - (newline + 1) <= LINE_SEARCH) return newline + 1;
  if (newline < 0 && afterLine && room <= LINE_SEARCH) return 0;
  let cut = room;
  while (cut > 0 && isContinuation(bytes[cut])) cut--;
  return cut;
}

/** Where the kept tail begins: after its first line break when one is near, else at a character boundary. */
function tailStart(bytes: Uint8Array): number {
  const newline = bytes.indexOf(NEWLINE);
  if (newline >= 0 && newline < LINE_SEARCH) return newline + 1;
  let start = 0;
  while (start < bytes.length && isContinuation(bytes[start])) start++;
  return start;
}

/** UTF-8 continuation bytes are 10xxxxxx: a cut before one would split a character. */
const isContinuation = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80;

function countNewlines(bytes: Uint8Array): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}
