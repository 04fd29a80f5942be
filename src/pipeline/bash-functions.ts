import { codePoints, compilePattern, fromCodePoints, matchFrom, reversePattern } from './bash-pattern.ts';

/**
 * The string operations of `${...}` substitution, on already-expanded arguments. Drone
 * documents them as bash's ("Drone emulates the below string operations", docs.drone.io
 * "Substitution"), and drone/envsubst's table gives bash's meaning for each; where
 * envsubst's Go code departs from that meaning by accident (it counts and slices bytes, so
 * `${#var}` and `${var:1:2}` break on non-ASCII text; it reverses the pattern text for `%`),
 * runlog computes bash's result. Every operation here is compared with bash itself in
 * test/pipeline/substitute-bash.int.test.ts.
 */

/**
 * Simple (one-to-one) case mapping of one code point, as Go's `unicode.ToUpper` and glibc's
 * `towupper` do: JavaScript's full mapping turns `ß` into `SS` or `İ` into `i̇`, which
 * neither Drone nor bash does.
 */
const simpleLower: Record<string, string> = { 'İ': 'i' };
const simpleUpper: Record<string, string> = { 'ᾳ': 'ᾼ', 'ῃ': 'ῌ', 'ῳ': 'ῼ' };

function upper(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  // Greek with ypogegrammeni: the simple mapping is the capital with prosgegrammeni.
  if ((cp >= 0x1f80 && cp <= 0x1f87) || (cp >= 0x1f90 && cp <= 0x1f97) || (cp >= 0x1fa0 && cp <= 0x1fa7)) {
    return String.fromCodePoint(cp + 8);
  }
  const mapped = simpleUpper[ch] ?? ch.toUpperCase();
  return [...mapped].length === 1 ? mapped : ch;
}

function lower(ch: string): string {
  const mapped = simpleLower[ch] ?? ch.toLowerCase();
  return [...mapped].length === 1 ? mapped : ch;
}

export type CaseOp = '^' | '^^' | ',' | ',,';

export function changeCase(value: string, op: CaseOp): string {
  const chars = [...value];
  if (chars.length === 0) return value;
  switch (op) {
    case '^':
      return upper(chars[0]) + chars.slice(1).join('');
    case '^^':
      return chars.map(upper).join('');
    case ',':
      return lower(chars[0]) + chars.slice(1).join('');
    case ',,':
      return chars.map(lower).join('');
  }
}

/** `${#var}`: the length in characters, as bash counts in a UTF-8 locale. */
export function length(value: string): string {
  return String([...value].length);
}

/**
 * `${var:offset}` and `${var:offset:length}` in characters. A negative offset counts from
 * the end; one before the start gives an empty string. A negative length counts back from
 * the end; bash refuses a slice that would end before it starts, and so does runlog.
 */
export function substring(value: string, offset: number, len: number | undefined): { ok: true; value: string } | { ok: false } {
  const chars = [...value];
  const n = chars.length;
  let from = offset < 0 ? n + offset : offset;
  if (from < 0 || from > n) return { ok: true, value: '' };
  if (len === undefined) return { ok: true, value: chars.slice(from).join('') };
  if (len < 0) {
    const end = n + len;
    if (end < from) return { ok: false };
    return { ok: true, value: chars.slice(from, end).join('') };
  }
  from = Math.min(from, n);
  return { ok: true, value: chars.slice(from, from + len).join('') };
}

export type RemoveOp = '#' | '##' | '%' | '%%';

/** `${var#pat}` and `${var##pat}` drop the shortest or longest matching prefix; `%` and `%%` a suffix. */
export function remove(value: string, op: RemoveOp, patternSource: string): string {
  const pattern = compilePattern(patternSource);
  const want = op.length === 1 ? 'shortest' : 'longest';
  const cps = codePoints(value);
  if (op[0] === '#') {
    const end = matchFrom(pattern, cps, 0, want);
    return end === undefined ? value : fromCodePoints(cps.slice(end));
  }
  // A suffix match is a prefix match of the reversed pattern on the reversed value.
  const end = matchFrom(reversePattern(pattern), [...cps].reverse(), 0, want);
  return end === undefined ? value : fromCodePoints(cps.slice(0, cps.length - end));
}

export type ReplaceOp = '/' | '//' | '/#' | '/%';

/**
 * `${var/pat/rep}` replaces the longest match at the leftmost position where one starts,
 * `//` every such match, `/#` a match at the start and `/%` one at the end. The replacement
 * is literal: bash 5.2's `&` (patsub_replacement) is not a Drone feature.
 */
export function replace(value: string, op: ReplaceOp, patternSource: string, replacement: string): string {
  // bash leaves the value alone when the pattern is empty (`${v/#/x}` still prefixes).
  if (patternSource === '' && (op === '/' || op === '//')) return value;
  const pattern = compilePattern(patternSource);
  const cps = codePoints(value);
  const n = cps.length;
  if (op === '/#') {
    const end = matchFrom(pattern, cps, 0, 'longest');
    return end === undefined ? value : replacement + fromCodePoints(cps.slice(end));
  }
  if (op === '/%') {
    const end = matchFrom(reversePattern(pattern), [...cps].reverse(), 0, 'longest');
    return end === undefined ? value : fromCodePoints(cps.slice(0, n - end)) + replacement;
  }
  if (n === 0) return matchFrom(pattern, cps, 0, 'longest') === 0 ? replacement : value;
  let out = '';
  let i = 0;
  while (i < n) {
    const end = matchFrom(pattern, cps, i, 'longest');
    if (end === undefined) {
      out += String.fromCodePoint(cps[i]);
      i++;
      continue;
    }
    out += replacement;
    if (end === i) {
      // An empty match replaces nothing here; keep the character and move on, as bash does.
      out += String.fromCodePoint(cps[i]);
      i++;
    } else {
      i = end;
    }
    if (op === '/') return out + fromCodePoints(cps.slice(i));
  }
  return out;
}
