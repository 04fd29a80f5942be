// Progress of a long run (verify, export, import) on stderr: a bar redrawn in place on a
// terminal, a plain line every few seconds otherwise (CI logs, files), nothing when quiet.
export interface Progress {
  /** `done` of `total` (0 when unknown) things, e.g. events (or `unit`, for this update). */
  update(label: string, done: number, total: number, unit?: string): void;
  /** Ends the bar's line, if one was drawn. */
  end(): void;
}

export interface ProgressOptions {
  readonly stream?: { isTTY?: boolean; write(text: string): unknown };
  readonly quiet?: boolean;
  /** What is counted, plural ('events'). */
  readonly unit?: string;
  readonly now?: () => number;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** The bar's text: `verify [########------------]  40%  400,000/1,000,000 events  95,000 events/s`. Pure. */
export function progressText(label: string, done: number, total: number, elapsedMs: number, unit = 'events', bar = true): string {
  const rate = elapsedMs > 0 ? ` ${count((done / elapsedMs) * 1000)} ${unit}/s` : '';
  if (total <= 0) return `${label}: ${count(done)} ${unit}${rate ? `,${rate}` : ''}`;
  const fraction = Math.min(1, done / total);
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const width = 24;
  const filled = Math.round(fraction * width);
  const drawn = bar ? ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]` : ':';
  return `${label}${drawn} ${percent}  ${count(done)}/${count(total)} ${unit}${rate ? ` ${rate}` : ''}`;
}

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const tty = stream.isTTY === true;
  // The rate is per phase: a new label starts its own clock.
  let started = now();
  let last = -Infinity;
  let lastLabel = '';
  let drawn = false;
  return {
    update(label, done, total, unit) {
      if (options.quiet) return;
      const at = now();
      // A new phase always shows; otherwise 10 redraws a second on a terminal, a line every 5 s in a log.
      if (label === lastLabel && at - last < (tty ? 100 : 5000)) return;
      if (label !== lastLabel) started = at;
      last = at;
      lastLabel = label;
      const text = unit ? `${label}: ${count(done)} ${unit}` : progressText(label, done, total, at - started, options.unit, tty);
      if (tty) {
        stream.write(`\r${text}\u001b[K`);
        drawn = true;
      } else stream.write(`${text}\n`);
    },
    end() {
      if (drawn) stream.write('\r\u001b[K');
      drawn = false;
    },
  };
}
