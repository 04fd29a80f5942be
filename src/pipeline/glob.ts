/**
 * The glob Drone matches `when`/`trigger` conditions with: bmatcuk/doublestar v1 `Match`
 * (runner-go manifest/cond.go and drone-yaml yaml/cond.go both `import filepath
 * "github.com/bmatcuk/doublestar"`; the meltwater/drone-convert-pathschanged extension
 * that gives Drone users `paths` uses it too).
 *
 * Pattern and name are split on `/`. A component that is exactly `**` matches zero or more
 * components; anywhere else a star matches within one component, so `feature/*` matches
 * `feature/login` but not `feature/a/b`, and `**\/*.go` matches `main.go` and `cmd/x/main.go`.
 * In a component: `*` any run of characters, `?` one character, `[...]` a class (`^` negates,
 * `a-z` ranges, `\` quotes), `{a,b}` alternatives, `\c` the character c. A malformed
 * pattern (unclosed `[` or `{`, empty class, trailing `\`) matches nothing, as Drone ignores
 * doublestar's error and treats it as no match.
 */

/** Splits on `sep` unless it is preceded by a backslash (doublestar `splitPathOnSeparator`). */
function splitEscaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === sep && (i === 0 || s[i - 1] !== '\\')) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** Index of the first `ch` in `chars` from `from` that is not preceded by a backslash, or -1. */
function indexUnescaped(chars: readonly string[], ch: string, from: number): number {
  for (let i = from; i < chars.length; i++) {
    if (chars[i] === ch && (i === 0 || chars[i - 1] !== '\\')) return i;
  }
  return -1;
}

class BadPattern extends Error {}

function matchClass(body: readonly string[], c: string): boolean {
  if (body.length === 0) throw new BadPattern();
  const negate = body[0] === '^';
  let i = negate ? 1 : 0;
  let inside = false;
  const cp = (s: string) => s.codePointAt(0) ?? 0;
  while (i < body.length) {
    let lo = body[i++];
    if (lo === '-') throw new BadPattern();
    if (lo === '\\') {
      if (i >= body.length) throw new BadPattern();
      lo = body[i++];
    }
    let hi = lo;
    if (body[i] === '-') {
      i++;
      if (i >= body.length) throw new BadPattern();
      hi = body[i++];
      if (hi === '-') throw new BadPattern();
      if (hi === '\\') {
        if (i >= body.length) throw new BadPattern();
        hi = body[i++];
      }
    }
    if (cp(lo) <= cp(c) && cp(c) <= cp(hi)) inside = true;
  }
  return inside !== negate;
}

/**
 * One path component against one pattern component, over code points so `?` is one
 * character. Results are memoised per (pattern index, name index), so stars never make the
 * match exponential.
 */
function matchComponent(pattern: readonly string[], name: readonly string[]): boolean {
  const memo = new Map<number, boolean>();
  const at = (p: number, n: number): boolean => {
    const key = p * (name.length + 1) + n;
    let result = memo.get(key);
    if (result === undefined) {
      result = step(p, n);
      memo.set(key, result);
    }
    return result;
  };
  const step = (p: number, n: number): boolean => {
    if (p >= pattern.length) return n === name.length;
    const c = pattern[p];
    if (c === '*') return at(p + 1, n) || (n < name.length && at(p, n + 1));
    if (c === '{') {
      const close = indexUnescaped(pattern, '}', p + 1);
      if (close === -1) throw new BadPattern();
      const rest = pattern.slice(close + 1);
      const remaining = name.slice(n);
      return splitEscaped(pattern.slice(p + 1, close).join(''), ',').some((option) =>
        matchComponent([...option, ...rest], remaining),
      );
    }
    if (c === '\\') {
      if (p + 1 >= pattern.length) throw new BadPattern();
      return n < name.length && pattern[p + 1] === name[n] && at(p + 2, n + 1);
    }
    if (c === '[') {
      const close = indexUnescaped(pattern, ']', p + 1);
      if (close === -1) throw new BadPattern();
      const body = pattern.slice(p + 1, close);
      if (n >= name.length) {
        matchClass(body, ''); // still refuse a malformed class
        return false;
      }
      return matchClass(body, name[n]) && at(close + 1, n + 1);
    }
    return n < name.length && (c === '?' || c === name[n]) && at(p + 1, n + 1);
  };
  return at(0, 0);
}

/** doublestar `doMatching` over path components, memoised like matchComponent so repeated `**` stay polynomial. */
function matchComponents(pattern: readonly string[], name: readonly string[]): boolean {
  const memo = new Map<number, boolean>();
  const at = (p: number, n: number): boolean => {
    const key = p * (name.length + 1) + n;
    let result = memo.get(key);
    if (result === undefined) {
      result = step(p, n);
      memo.set(key, result);
    }
    return result;
  };
  const step = (p: number, n: number): boolean => {
    if (p >= pattern.length || n >= name.length) return p >= pattern.length && n >= name.length;
    if (pattern[p] === '**') {
      // `**` last matches whatever is left; otherwise it stands for zero or more components.
      if (p + 1 >= pattern.length) return true;
      for (let k = n; k < name.length; k++) if (at(p + 1, k)) return true;
      return false;
    }
    return matchComponent([...pattern[p]], [...name[n]]) && at(p + 1, n + 1);
  };
  return at(0, 0);
}

/** doublestar v1 `Match(pattern, name)`; a malformed pattern matches nothing. */
export function globMatch(pattern: string, name: string): boolean {
  try {
    return matchComponents(splitEscaped(pattern, '/'), name.split('/'));
  } catch (error) {
    if (error instanceof BadPattern) return false;
    throw error;
  }
}
