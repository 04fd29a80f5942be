/**
 * Go's `strconv.Quote` (what `fmt.Sprintf("%q", s)` prints), because Drone writes values
 * with it in two places runlog reproduces: a substituted value that contains a newline is
 * quoted so the YAML stays valid (runner-go `subf`: `if strings.Contains(v, "\n") { v =
 * fmt.Sprintf("%q", v) }`), and coreos/go-semver quotes the input in its parse errors
 * (`DRONE_SEMVER_ERROR`). Go's escapes (`\n`, `\t`, `\"`, `\\`, `\xHH`, `\uHHHH`,
 * `\UHHHHHHHH`) are all valid in a YAML double-quoted scalar, which is why Drone relies on it.
 */

/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const shortEscapes: Record<number, string> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
    } else if (ch === ' ' || printable.test(ch)) {
      out += ch;
    } else if (shortEscapes[cp] !== undefined) {
      out += shortEscapes[cp];
    } else if (cp < 0x20 || cp === 0x7f) {
      out += '\\x' + hex(cp, 2);
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone UTF-16 surrogate cannot come from a UTF-8 file; Go would see U+FFFD.
      out += '\\ufffd';
    } else if (cp < 0x10000) {
      out += '\\u' + hex(cp, 4);
    } else {
      out += '\\U' + hex(cp, 8);
    }
  }
  return out + '"';
}
