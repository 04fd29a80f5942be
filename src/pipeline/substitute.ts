import { changeCase, length, remove, replace, substring } from './bash-functions.ts';
import type { CaseOp, RemoveOp, ReplaceOp } from './bash-functions.ts';
import { goQuote } from './go-quote.ts';

/**
 * Drone's variable substitution, applied to the raw `.drone.yml` text before it is parsed
 * (runner-go: `envsubst.Eval(string(data.Config.Data), subf)`). What a Drone user's file
 * relies on, and runlog therefore does the same way:
 *
 * - Only `${...}` is expanded. `$VAR` without braces is left as it is, so shell variables in
 *   `commands` reach the shell: drone/envsubst "only substitutes variables with curly braces
 *   and, by design, ignores variables without curly braces" (bradrydzewski, drone/envsubst#25;
 *   docs.drone.io "Substitution" → Escaping shows `echo $GOOS` left alone).
 * - `$$` is a literal `$` (envsubst#2, #4, #27), so `$${GOARCH}` reaches the shell as `${GOARCH}`.
 * - An unknown variable is an empty string, and so is one set to `''`: Drone's lookup cannot
 *   tell them apart, which is why `${var=default}`, `${var:=default}` and `${var:-default}`
 *   all take the default for an empty value (envsubst `toDefault`). Nothing is assigned.
 * - A value with a newline is replaced by its Go-quoted form (`"line1\nline2"`) before any
 *   operation, so a multi-line value cannot break the YAML (runner-go `subf`).
 * - Default words are literal text (plus nested `${...}` and `$$`); a backslash in them is
 *   kept, as envsubst keeps it (`${DIR:-C:\build}`).
 *
 * The string operations follow bash (see bash-functions.ts). Everything else inside `${}` —
 * `${var-x}`, `${var+x}`, `${var:?x}`, `${!var}`, `${var@Q}`, `${arr[0]}` — is an error that
 * names the expression and where it is, rather than a silent guess.
 */
export type SubstituteResult =
  | { ok: true; text: string }
  | { ok: false; message: string; line: number; column: number };

/** Deeper nesting than this is refused (it would only ever come from a generated or hostile file). */
const maxDepth = 32;

/** Told with every refused expression, so the message says what to write instead. */
const supported =
  'Drone supports ${var}, ${#var}, ${var^}, ${var^^}, ${var,}, ${var,,}, ${var:pos}, ${var:pos:len}, ' +
  '${var#pat}, ${var##pat}, ${var%pat}, ${var%%pat}, ${var/pat/rep}, ${var//pat/rep}, ${var/#pat/rep}, ' +
  '${var/%pat/rep}, ${var=default}, ${var:=default} and ${var:-default}; write $${ for a literal ${';

/** What Drone (envsubst `acceptIdent`) accepts in a variable name. */
const nameChar = /[\p{L}\p{Nd}_]/u;

class SubstitutionError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

/** Where a word inside `${...}` ends, and how its backslashes read. */
type WordKind =
  | 'default' // ends at `}`; backslashes literal (envsubst)
  | 'pattern' // ends at `}`; `\x` kept so the pattern reads it as a quoted character
  | 'replace-pattern' // like pattern, but also ends at an unquoted `/`
  | 'replacement' // ends at `}`; `\/`, `\\` and `\}` become the character
  | 'offset' // ends at `:` or `}`
  | 'length'; // ends at `}`

type Context = { text: string; vars: Record<string, string> };

export function substitute(text: string, vars: Record<string, string>): SubstituteResult {
  const ctx: Context = { text, vars };
  try {
    return { ok: true, text: expandText(ctx) };
  } catch (error) {
    if (!(error instanceof SubstitutionError)) throw error;
    const { line, column } = position(text, error.at);
    return { ok: false, message: error.message, line, column };
  }
}

/** 1-based line and column (in UTF-16 code units, as editors and the `yaml` package count). */
function position(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: at - lineStart + 1 };
}

function lookup(ctx: Context, name: string): string {
  const value = Object.prototype.hasOwnProperty.call(ctx.vars, name) ? ctx.vars[name] : undefined;
  if (typeof value !== 'string') return '';
  // Drone: a value with a newline is written as a Go-quoted string so the YAML stays valid.
  return value.includes('\n') ? goQuote(value) : value;
}

function expandText(ctx: Context): string {
  const { text } = ctx;
  let out = '';
  let i = 0;
  for (let dollar = text.indexOf('$'); dollar !== -1; dollar = text.indexOf('$', i)) {
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const expanded = expandExpression(ctx, dollar, 1);
      out += expanded.value;
      i = expanded.end;
    } else {
      out += '$';
      i = dollar + 1;
    }
  }
  return out + text.slice(i);
}

/** The source of the expression starting at `start` (for messages): up to its closing brace, on one line, shortened. */
function excerpt(text: string, start: number): string {
  let depth = 0;
  let end = start;
  for (; end < text.length && text[end] !== '\n'; end++) {
    if (text[end] === '{' && text[end - 1] === '$') depth++;
    if (text[end] === '}' && --depth === 0) {
      end++;
      break;
    }
  }
  const source = text.slice(start, end);
  return source.length > 60 ? source.slice(0, 57) + '...' : source;
}

function readName(text: string, at: number): string {
  let end = at;
  while (end < text.length) {
    const cp = text.codePointAt(end) ?? 0;
    const ch = String.fromCodePoint(cp);
    if (!nameChar.test(ch)) break;
    end += ch.length;
  }
  return text.slice(at, end);
}

/** Reads one word inside `${...}`, expanding nested `${...}` and `$$`; returns it and the index of its terminator. */
function readWord(ctx: Context, at: number, kind: WordKind, depth: number, start: number): { value: string; end: number } {
  const { text } = ctx;
  let out = '';
  let i = at;
  while (i < text.length) {
    const c = text[i];
    if (c === '}') return { value: out, end: i };
    if (c === ':' && kind === 'offset') return { value: out, end: i };
    if (c === '/' && kind === 'replace-pattern') return { value: out, end: i };
    if (c === '$' && text[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (c === '$' && text[i + 1] === '{') {
      const nested = expandExpression(ctx, i, depth + 1);
      out += nested.value;
      i = nested.end;
    } else if (c === '\\' && i + 1 < text.length && (kind === 'pattern' || kind === 'replace-pattern')) {
      out += c + text[i + 1];
      i += 2;
    } else if (c === '\\' && kind === 'replacement' && '/\\}'.includes(text[i + 1] ?? '')) {
      out += text[i + 1];
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  throw new SubstitutionError(`unclosed substitution '${excerpt(text, start)}': missing '}'`, start);
}

function expectClose(ctx: Context, at: number, start: number): number {
  if (ctx.text[at] === '}') return at + 1;
  if (at >= ctx.text.length) {
    throw new SubstitutionError(`unclosed substitution '${excerpt(ctx.text, start)}': missing '}'`, start);
  }
  throw new SubstitutionError(`bad substitution '${excerpt(ctx.text, start)}': ${supported}`, start);
}

/** An offset or length of `${var:offset:length}`: an integer, optionally signed, spaced or parenthesised (`${v: -2}`, `${v:(-2)}`). */
function parseInteger(source: string, what: string, ctx: Context, start: number): number {
  let s = source.trim();
  if (s.startsWith('(') && s.endsWith(')')) s = s.slice(1, -1).trim();
  if (s === '') return 0; // bash: an empty arithmetic expression is 0 (`${v::2}`)
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new SubstitutionError(
      `unsupported substring ${what} '${source}' in '${excerpt(ctx.text, start)}': runlog accepts an integer here`,
      start,
    );
  }
  return n;
}

/**
 * Expands the `${...}` whose `$` is at `start`; returns its value and the index after its `}`.
 */
function expandExpression(ctx: Context, start: number, depth: number): { value: string; end: number } {
  const { text } = ctx;
  if (depth > maxDepth) {
    throw new SubstitutionError(`substitution nested more than ${maxDepth} levels deep`, start);
  }
  const bad = (what = 'bad substitution'): never => {
    const hint = what === 'unclosed substitution' ? ": missing '}'" : `: ${supported}`;
    throw new SubstitutionError(`${what} '${excerpt(text, start)}'${hint}`, start);
  };

  let i = start + 2;
  if (text[i] === '#') {
    const name = readName(text, i + 1);
    if (name === '') bad('unsupported substitution');
    return { value: length(lookup(ctx, name)), end: expectClose(ctx, i + 1 + name.length, start) };
  }

  const name = readName(text, i);
  if (name === '') {
    if (i >= text.length) bad('unclosed substitution');
    bad(text[i] === '}' ? 'empty substitution' : 'unsupported substitution');
  }
  i += name.length;
  const value = () => lookup(ctx, name);
  const op = text[i];

  switch (op) {
    case '}':
      return { value: value(), end: i + 1 };

    case '^':
    case ',': {
      const caseOp = text[i + 1] === op ? op + op : op;
      return { value: changeCase(value(), caseOp as CaseOp), end: expectClose(ctx, i + caseOp.length, start) };
    }

    case '=':
    case ':': {
      if (op === '=' || text[i + 1] === '-' || text[i + 1] === '=') {
        // ${var=default}, ${var:=default}, ${var:-default}: Drone takes the default for an empty value too.
        const word = readWord(ctx, i + (op === '=' ? 1 : 2), 'default', depth, start);
        const current = value();
        return { value: current === '' ? word.value : current, end: word.end + 1 };
      }
      if (text[i + 1] === '+' || text[i + 1] === '?') bad('unsupported substitution');
      const offsetWord = readWord(ctx, i + 1, 'offset', depth, start);
      if (text[offsetWord.end] === '}' && offsetWord.value.trim() === '') bad(); // bash: `${v:}` is a bad substitution
      const offset = parseInteger(offsetWord.value, 'offset', ctx, start);
      let len: number | undefined;
      let end = offsetWord.end + 1;
      if (text[offsetWord.end] === ':') {
        const lengthWord = readWord(ctx, offsetWord.end + 1, 'length', depth, start);
        len = parseInteger(lengthWord.value, 'length', ctx, start);
        end = lengthWord.end + 1;
      }
      const sliced = substring(value(), offset, len);
      if (!sliced.ok) {
        throw new SubstitutionError(`substring expression < 0 in '${excerpt(text, start)}'`, start);
      }
      return { value: sliced.value, end };
    }

    case '#':
    case '%': {
      const removeOp = (text[i + 1] === op ? op + op : op) as RemoveOp;
      const word = readWord(ctx, i + removeOp.length, 'pattern', depth, start);
      return { value: remove(value(), removeOp, word.value), end: word.end + 1 };
    }

    case '/': {
      const next = text[i + 1];
      const replaceOp = (next === '/' || next === '#' || next === '%' ? op + next : op) as ReplaceOp;
      const pattern = readWord(ctx, i + replaceOp.length, 'replace-pattern', depth, start);
      let replacement = '';
      let end = pattern.end + 1;
      if (text[pattern.end] === '/') {
        const word = readWord(ctx, pattern.end + 1, 'replacement', depth, start);
        replacement = word.value;
        end = word.end + 1;
      }
      return { value: replace(value(), replaceOp, pattern.value, replacement), end };
    }

    case '-':
    case '+':
    case '?':
      return bad('unsupported substitution');

    default:
      if (i >= text.length) return bad('unclosed substitution');
      return bad(op === '@' || op === '[' ? 'unsupported substitution' : 'bad substitution');
  }
}
