/**
 * Bash pattern matching (`man bash`, "Pattern Matching") as the `${var#pattern}`,
 * `${var%pattern}` and `${var/pattern/string}` operations use it: `*` matches any run of
 * characters (slashes included, unlike a path glob), `?` one character, `[...]` a bracket
 * expression (`!` or `^` negates, ranges by code point as in the C.UTF-8 locale, POSIX
 * classes such as `[:alpha:]`), and `\` quotes the next character. extglob is off, as in a
 * plain `bash -c`.
 *
 * Matching runs a small NFA over code points, so it never backtracks: every query is
 * O(value length × pattern length), whatever the pattern.
 */

type Token =
  | { kind: 'star' }
  | { kind: 'any' }
  | { kind: 'char'; cp: number }
  | { kind: 'class'; negate: boolean; ranges: [number, number][]; named: string[] };

export type Pattern = readonly Token[];

const namedClasses: Record<string, RegExp> = {
  alpha: /^\p{Alphabetic}$/u,
  digit: /^[0-9]$/,
  alnum: /^[\p{Alphabetic}0-9]$/u,
  upper: /^\p{Uppercase}$/u,
  lower: /^\p{Lowercase}$/u,
  space: /^\p{White_Space}$/u,
  blank: /^[ \t]$/,
  punct: /^[\p{P}\p{S}]$/u,
  xdigit: /^[0-9A-Fa-f]$/,
  cntrl: /^\p{Cc}$/u,
  print: /^[^\p{Cc}\p{Cs}\p{Cn}]$/u,
  graph: /^[^\p{Cc}\p{Cs}\p{Cn}\p{White_Space}]$/u,
  word: /^[\p{Alphabetic}0-9_]$/u,
};

function cpOf(s: string): number {
  return s.codePointAt(0) ?? 0;
}

/** Parses `[...]` starting at `cps[at] === '['`; undefined when it is not closed (then `[` is literal, as in bash). */
function parseBracket(cps: string[], at: number): { token: Token; end: number } | undefined {
  let i = at + 1;
  let negate = false;
  if (cps[i] === '!' || cps[i] === '^') {
    negate = true;
    i++;
  }
  const ranges: [number, number][] = [];
  const named: string[] = [];
  let first = true;
  while (i < cps.length) {
    const c = cps[i];
    if (c === ']' && !first) return { token: { kind: 'class', negate, ranges, named }, end: i + 1 };
    first = false;
    if (c === '[' && cps[i + 1] === ':') {
      const close = cps.indexOf(':', i + 2);
      if (close > 0 && cps[close + 1] === ']') {
        named.push(cps.slice(i + 2, close).join(''));
        i = close + 2;
        continue;
      }
    }
    let lo = c;
    if (c === '\\' && i + 1 < cps.length) lo = cps[++i];
    i++;
    if (cps[i] === '-' && i + 1 < cps.length && cps[i + 1] !== ']') {
      let hi = cps[i + 1];
      i += 2;
      if (hi === '\\' && i < cps.length) hi = cps[i++];
      ranges.push([cpOf(lo), cpOf(hi)]);
    } else {
      ranges.push([cpOf(lo), cpOf(lo)]);
    }
  }
  return undefined;
}

export function compilePattern(source: string): Pattern {
  const cps = [...source];
  const tokens: Token[] = [];
  for (let i = 0; i < cps.length; ) {
    const c = cps[i];
    if (c === '*') {
      // Consecutive stars match the same as one.
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
      i++;
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
      i++;
    } else if (c === '[') {
      const bracket = parseBracket(cps, i);
      if (bracket) {
        tokens.push(bracket.token);
        i = bracket.end;
      } else {
        tokens.push({ kind: 'char', cp: cpOf(c) });
        i++;
      }
    } else if (c === '\\' && i + 1 < cps.length) {
      tokens.push({ kind: 'char', cp: cpOf(cps[i + 1]) });
      i += 2;
    } else {
      tokens.push({ kind: 'char', cp: cpOf(c) });
      i++;
    }
  }
  return tokens;
}

/** The same pattern, read right to left: every token stands for one character or a star, so reversing the list is exact. */
export function reversePattern(pattern: Pattern): Pattern {
  return [...pattern].reverse();
}

function tokenMatches(token: Token, cp: number): boolean {
  switch (token.kind) {
    case 'star':
    case 'any':
      return true;
    case 'char':
      return token.cp === cp;
    case 'class': {
      const ch = String.fromCodePoint(cp);
      const inside =
        token.ranges.some(([lo, hi]) => lo <= cp && cp <= hi) ||
        token.named.some((name) => namedClasses[name]?.test(ch) ?? false);
      return inside !== token.negate;
    }
  }
}

/** Adds the states reachable without reading a character: a star may match nothing. */
function close(pattern: Pattern, states: Uint8Array): void {
  for (let j = 0; j < pattern.length; j++) {
    if (states[j] && pattern[j].kind === 'star') states[j + 1] = 1;
  }
}

/**
 * Ends of the matches of `pattern` that start at `start` in `cps`: the shortest or the
 * longest one, or undefined when the pattern matches nothing there.
 */
export function matchFrom(
  pattern: Pattern,
  cps: readonly number[],
  start: number,
  want: 'shortest' | 'longest',
): number | undefined {
  const accept = pattern.length;
  let states = new Uint8Array(accept + 1);
  states[0] = 1;
  close(pattern, states);
  let found = states[accept] ? start : undefined;
  if (found !== undefined && want === 'shortest') return found;
  for (let i = start; i < cps.length; i++) {
    const next = new Uint8Array(accept + 1);
    let alive = false;
    for (let j = 0; j < accept; j++) {
      if (!states[j]) continue;
      const token = pattern[j];
      if (token.kind === 'star') {
        next[j] = 1;
        alive = true;
      } else if (tokenMatches(token, cps[i])) {
        next[j + 1] = 1;
        alive = true;
      }
    }
    if (!alive) break;
    close(pattern, next);
    states = next;
    if (states[accept]) {
      found = i + 1;
      if (want === 'shortest') return found;
    }
  }
  return found;
}

export function codePoints(s: string): number[] {
  return Array.from(s, cpOf);
}

export function fromCodePoints(cps: readonly number[]): string {
  let out = '';
  for (const cp of cps) out += String.fromCodePoint(cp);
  return out;
}
