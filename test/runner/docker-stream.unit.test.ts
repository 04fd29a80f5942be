import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDemuxer } from '../../src/runner/docker/demux.ts';
import { tarStream, type TarEntry } from '../../src/runner/docker/tar.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(stream: number, text: string): Uint8Array {
  const payload = encoder.encode(text);
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

describe('docker stream demuxer', () => {
  const frames = join([frame(1, 'out one\n'), frame(2, 'err two\n'), frame(1, ''), frame(1, 'out three')]);

  it('hands payloads on in arrival order, whatever the chunking', () => {
    for (let size = 1; size <= frames.length; size++) {
      let text = '';
      const demuxer = createDemuxer((payload) => (text += decoder.decode(payload)));
      for (let at = 0; at < frames.length; at += size) demuxer.push(frames.slice(at, at + size));
      assert.equal(text, 'out one\nerr two\nout three', `chunks of ${size}`);
      assert.equal(demuxer.pending(), 0);
    }
  });

  it('says which stream a payload came from, and holds an unfinished frame', () => {
    const seen: Array<[number, string]> = [];
    const demuxer = createDemuxer((payload, stream) => seen.push([stream, decoder.decode(payload)]));
    demuxer.push(frames.slice(0, 20));
    assert.deepEqual(seen, [[1, 'out one\n']]);
    assert.equal(demuxer.pending(), 4);
  });

  it('reads sizes above 16 MiB (the top byte of the size)', () => {
    const big = new Uint8Array(8 + 2 ** 24 + 3);
    big[0] = 1;
    new DataView(big.buffer).setUint32(4, 2 ** 24 + 3);
    let received = 0;
    createDemuxer((payload) => (received += payload.length)).push(big);
    assert.equal(received, 2 ** 24 + 3);
  });
});

/** A minimal tar reader for the test: headers (checksum checked), PAX paths, contents. */
function readTar(bytes: Uint8Array) {
  const entries: Array<{ name: string; type: string; mode: number; uid: number; size: number; link: string; content: string }> = [];
  const field = (block: Uint8Array, at: number, length: number) => decoder.decode(block.subarray(at, at + length)).replace(/\0.*$/s, '');
  let at = 0;
  let paxPath: string | undefined;
  while (at + 512 <= bytes.length) {
    const block = bytes.subarray(at, at + 512);
    if (block.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
    assert.equal(parseInt(field(block, 148, 8), 8), sum, 'header checksum');
    assert.equal(field(block, 257, 6), 'ustar');
    const size = parseInt(field(block, 124, 12), 8);
    const content = decoder.decode(bytes.subarray(at + 512, at + 512 + size));
    const type = field(block, 156, 1);
    if (type === 'x') {
      paxPath = /\d+ path=(.*)\n/.exec(content)?.[1];
    } else {
      entries.push({
        name: paxPath ?? field(block, 0, 100),
        type,
        mode: parseInt(field(block, 100, 8), 8),
        uid: parseInt(field(block, 108, 8), 8),
        size,
        link: field(block, 157, 100),
        content,
      });
      paxPath = undefined;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  assert.equal(bytes.length % 512, 0);
  return entries;
}

async function tarOf(entries: TarEntry[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of tarStream(entries)) parts.push(part);
  return join(parts);
}

const file = (path: string, text: string, mode = 0o644): TarEntry => {
  const bytes = encoder.encode(text);
  return { type: 'file', path, mode, mtime: 1_700_000_000, size: bytes.length, content: async function* () { yield bytes; } };
};

describe('tar writer', () => {
  it('writes files, directories and symlinks owned by root, with their modes', async () => {
    const entries = readTar(
      await tarOf([
        { type: 'directory', path: 'src', mode: 0o755, mtime: 0 },
        file('src/main.sh', '#!/bin/sh\necho hi\n', 0o755),
        { type: 'symlink', path: 'link', mode: 0o777, mtime: 0, target: 'src/main.sh' },
        file('empty', ''),
      ]),
    );
    assert.deepEqual(
      entries.map(({ name, type, mode, uid, size, link, content }) => ({ name, type, mode, uid, size, link, content })),
      [
        { name: 'src/', type: '5', mode: 0o755, uid: 0, size: 0, link: '', content: '' },
        { name: 'src/main.sh', type: '0', mode: 0o755, uid: 0, size: 18, link: '', content: '#!/bin/sh\necho hi\n' },
        { name: 'link', type: '2', mode: 0o777, uid: 0, size: 0, link: 'src/main.sh', content: '' },
        { name: 'empty', type: '0', mode: 0o644, uid: 0, size: 0, link: '', content: '' },
      ],
    );
  });

  it('keeps long and non-ASCII names whole in a PAX record', async () => {
    const long = `${'deep/'.repeat(30)}file-é.txt`;
    const [entry] = readTar(await tarOf([file(long, 'x')]));
    assert.equal(entry.name, long);
    assert.equal(entry.content, 'x');
  });

  it('keeps the size its header promised when a file changes while read', async () => {
    const grew: TarEntry = { ...(file('grew', 'abc') as Extract<TarEntry, { type: 'file' }>), size: 2 };
    const shrank: TarEntry = { ...(file('shrank', 'a') as Extract<TarEntry, { type: 'file' }>), size: 3 };
    const entries = readTar(await tarOf([grew, shrank, file('after', 'ok')]));
    assert.deepEqual(
      entries.map((e) => [e.name, e.content]),
      [
        ['grew', 'ab'],
        ['shrank', 'a\0\0'],
        ['after', 'ok'],
      ],
    );
  });
});
