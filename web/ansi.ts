/**
 * Step output as styled segments: SGR colour and weight codes become class names, every
 * other escape sequence (cursor moves, titles) and any stray ESC byte is dropped, so a log never shows raw `\x1b[`.
 * Pure, so it is tested without a browser.
 */
export type Segment = { text: string; classes: string[] };

type Style = { fg?: string; bg?: string; bold?: boolean; dim?: boolean; italic?: boolean; underline?: boolean };

const COLOURS = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

// CSI sequences (ESC [ params final), OSC (ESC ] ... BEL or ESC \), and lone two-byte escapes.
const ESCAPE = /\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function parseAnsi(text: string, initial: Style = {}): { segments: Segment[]; style: Style } {
  const segments: Segment[] = [];
  let style: Style = { ...initial };
  let last = 0;
  // A stray ESC that starts no complete sequence is dropped too: the page never shows one.
  const push = (chunk: string) => {
    const text = chunk.replaceAll('\x1b', '');
    if (text) segments.push({ text, classes: classesOf(style) });
  };
  for (const match of text.matchAll(ESCAPE)) {
    push(text.slice(last, match.index));
    last = match.index! + match[0].length;
    if (match[2] === 'm') style = applySgr(style, match[1] ?? '');
  }
  push(text.slice(last).replace(/\r(?!\n)/g, ''));
  return { segments, style };
}

function applySgr(style: Style, params: string): Style {
  const codes = params === '' ? [0] : params.split(';').map(Number);
  let next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === 0) next = {};
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = COLOURS[code - 30];
    else if (code >= 90 && code <= 97) next.fg = `bright-${COLOURS[code - 90]}`;
    else if (code === 39) delete next.fg;
    else if (code >= 40 && code <= 47) next.bg = COLOURS[code - 40];
    else if (code >= 100 && code <= 107) next.bg = `bright-${COLOURS[code - 100]}`;
    else if (code === 49) delete next.bg;
    else if ((code === 38 || code === 48) && codes[i + 1] === 5) i += 2; // 256 colours: not mapped, skipped whole
    else if ((code === 38 || code === 48) && codes[i + 1] === 2) i += 4; // true colour: skipped whole
  }
  return next;
}

function classesOf(style: Style): string[] {
  const classes: string[] = [];
  if (style.fg) classes.push(`fg-${style.fg}`);
  if (style.bg) classes.push(`bg-${style.bg}`);
  if (style.bold) classes.push('bold');
  if (style.dim) classes.push('dim');
  if (style.italic) classes.push('italic');
  if (style.underline) classes.push('underline');
  return classes;
}
