/**
 * Masks secret values in a step's output before it leaves the runner (Drone wraps its log
 * writer the same way: runner-go `livelog` + `replacer`).
 *
 * What is masked, as `********`:
 * - every occurrence of a secret's value, also inside longer text;
 * - for a value spanning several lines (a PEM key, a kubeconfig), the whole value and also
 *   each of its lines on its own, trimmed — the way Drone does it — because tools often
 *   print such values line by line or re-indent them;
 * - across chunk boundaries: the masker holds back the end of the text it has seen as long
 *   as that end could still become a secret, so no secret is ever emitted in two halves.
 *
 * Values (or lines) shorter than `MIN_SECRET_LENGTH` are not masked: masking `1` or `yes`
 * would rewrite every occurrence of those characters in the log, making it unreadable, and
 * the pattern of stars would give the value away anyway — a secret that short protects
 * nothing. (Drone skips values under 2 characters; we go a little further.)
 */
export const MASK = '********';
export const MIN_SECRET_LENGTH = 4;

export type SecretMasker = {
  /** Feeds text in; returns the part that is now safe to emit (maybe empty). */
  write(text: string): string;
  /** Ends the stream: returns what was held back, masked. The masker is then spent. */
  end(): string;
};

/** The strings to look for: each value, and each trimmed line of a multi-line value, longest first. */
export function secretPatterns(values: Iterable<string>, minLength = MIN_SECRET_LENGTH): string[] {
  const patterns = new Set<string>();
  for (const value of values) {
    if (value.length >= minLength) patterns.add(value);
    if (/[\r\n]/.test(value)) {
      for (const line of value.split(/\r?\n|\r/)) {
        const trimmed = line.trim();
        if (trimmed.length >= minLength) patterns.add(trimmed);
      }
    }
  }
  return [...patterns].sort((a, b) => b.length - a.length);
}

/** A streaming masker over the given secret values. With no maskable value it passes text through untouched. */
export function createSecretMasker(values: Iterable<string>, minLength = MIN_SECRET_LENGTH): SecretMasker {
  const patterns = secretPatterns(values, minLength);
  if (patterns.length === 0) return { write: (text) => text, end: () => '' };

  let pending = '';
  return {
    write(text) {
      pending += text;
      const { out, rest } = mask(pending, patterns, false);
      pending = rest;
      return out;
    },
    end() {
      const { out } = mask(pending, patterns, true);
      pending = '';
      return out;
    },
  };
}

/**
 * Masks `text` and splits it into what may be emitted and what must wait for more text.
 * Held back: the longest suffix that is a proper prefix of some pattern (it may still
 * grow into a secret), widened to the start of any match it overlaps — that match could
 * still be part of a longer secret, and a mask must never be cut in two.
 */
function mask(text: string, patterns: string[], final: boolean): { out: string; rest: string } {
  const ranges = matches(text, patterns);
  let cut = final ? text.length : text.length - heldBack(text, patterns);
  for (const [start, end] of ranges) if (start < cut && cut < end) cut = start;
  let out = '';
  let at = 0;
  for (const [start, end] of ranges) {
    if (start >= cut) break;
    out += text.slice(at, start) + MASK;
    at = end;
  }
  out += text.slice(at, cut);
  return { out, rest: text.slice(cut) };
}

/** Every occurrence of every pattern, overlapping ones merged, in order. */
function matches(text: string, patterns: string[]): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (const pattern of patterns) {
    for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + 1)) {
      found.push([at, at + pattern.length]);
    }
  }
  if (found.length <= 1) return found;
  found.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [found[0]];
  for (const range of found.slice(1)) {
    const last = merged[merged.length - 1];
    if (range[0] < last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

/** Length of the longest suffix of `text` that is a proper prefix of some pattern. */
function heldBack(text: string, patterns: string[]): number {
  let longest = 0;
  for (const pattern of patterns) {
    for (let length = Math.min(pattern.length - 1, text.length); length > longest; length--) {
      if (endsWithPrefix(text, pattern, length)) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

/** `text.endsWith(pattern.slice(0, length))` without allocating: this runs for every chunk of output. */
function endsWithPrefix(text: string, pattern: string, length: number): boolean {
  const offset = text.length - length;
  for (let i = length - 1; i >= 0; i--) if (text.charCodeAt(offset + i) !== pattern.charCodeAt(i)) return false;
  return true;
}
