import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A tar writer, just enough for `putArchive` (Docker's only way to put files into a
 * container or volume without running anything): regular files, directories and symlinks,
 * owned by root (0:0) whatever the host user is, with PAX records for names, link targets
 * and sizes that do not fit ustar's fields. Written here rather than shelling out to `tar`
 * because GNU and BSD tar spell "owner 0" differently and the runner must not depend on either.
 */

export type TarEntry =
  | { type: 'file'; path: string; mode: number; mtime: number; size: number; content: () => AsyncIterable<Uint8Array> }
  | { type: 'directory'; path: string; mode: number; mtime: number }
  | { type: 'symlink'; path: string; mode: number; mtime: number; target: string };

const BLOCK = 512;
const encoder = new TextEncoder();

/** The tar stream of `entries`, two zero blocks at the end. */
export async function* tarStream(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>): AsyncGenerator<Uint8Array> {
  for await (const entry of entries) {
    const name = entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
    const size = entry.type === 'file' ? entry.size : 0;
    const target = entry.type === 'symlink' ? entry.target : '';
    const pax: Record<string, string> = {};
    if (!fitsAscii(name, 100)) pax.path = name;
    if (!fitsAscii(target, 100)) pax.linkpath = target;
    if (size > 0o77777777777) pax.size = String(size);
    if (Object.keys(pax).length > 0) {
      const body = paxRecords(pax);
      yield header({ name: 'PaxHeader', mode: 0o644, size: body.length, mtime: entry.mtime, type: 'x', target: '' });
      yield padded(body);
    }
    const flag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
    yield header({ name: asciiPrefix(name, 100), mode: entry.mode, size, mtime: entry.mtime, type: flag, target: asciiPrefix(target, 100) });
    if (entry.type === 'file') {
      let written = 0;
      for await (const chunk of entry.content()) {
        // a file that grew while read is cut to the size its header promised
        const part = chunk.subarray(0, Math.max(0, size - written));
        written += part.length;
        if (part.length > 0) yield part;
      }
      // ...and one that shrank is padded, so the archive stays well-formed
      if (written < size) yield new Uint8Array(size - written);
      const rest = size % BLOCK;
      if (rest > 0) yield new Uint8Array(BLOCK - rest);
    }
  }
  yield new Uint8Array(BLOCK * 2);
}

/** The entries of a host directory, recursively, with paths relative to it ('./' is not included). */
export async function* directoryEntries(root: string, prefix = ''): AsyncGenerator<TarEntry> {
  const names = (await readdir(join(root, prefix))).sort();
  for (const name of names) {
    const path = prefix ? `${prefix}/${name}` : name;
    const full = join(root, path);
    const stat = await lstat(full);
    const base = { path, mode: stat.mode & 0o7777, mtime: Math.floor(stat.mtimeMs / 1000) };
    if (stat.isDirectory()) {
      yield { type: 'directory', ...base };
      yield* directoryEntries(root, path);
    } else if (stat.isSymbolicLink()) {
      yield { type: 'symlink', ...base, target: await readlink(full) };
    } else if (stat.isFile()) {
      yield { type: 'file', ...base, size: stat.size, content: () => createReadStream(full) };
    }
    // sockets, fifos and devices have no place in a workspace: skipped
  }
}

function header(fields: { name: string; mode: number; size: number; mtime: number; type: string; target: string }): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const put = (offset: number, length: number, text: string) => block.set(encoder.encode(text).subarray(0, length), offset);
  const octal = (offset: number, length: number, value: number) =>
    put(offset, length, `${Math.min(value, 8 ** (length - 1) - 1).toString(8).padStart(length - 1, '0')}\0`);
  put(0, 100, fields.name);
  octal(100, 8, fields.mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, fields.size);
  octal(136, 12, Math.max(0, fields.mtime));
  put(148, 8, '        '); // checksum is computed with its own field as spaces
  put(156, 1, fields.type);
  put(157, 100, fields.target);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  put(265, 32, 'root');
  put(297, 32, 'root');
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** PAX records: "<length> <key>=<value>\n", where length counts the whole record, itself included. */
function paxRecords(records: Record<string, string>): Uint8Array {
  let text = '';
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    const bodyLength = encoder.encode(body).length;
    let length = bodyLength + String(bodyLength).length;
    if (String(length).length !== String(bodyLength).length) length = bodyLength + String(length).length;
    text += `${length}${body}`;
  }
  return encoder.encode(text);
}

function padded(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / BLOCK) * BLOCK);
  out.set(bytes);
  return out;
}

function fitsAscii(text: string, length: number): boolean {
  return text.length <= length && /^[\x20-\x7e]*$/.test(text);
}

function asciiPrefix(text: string, length: number): string {
  return text.replace(/[^\x20-\x7e]/g, '_').slice(0, length);
}
