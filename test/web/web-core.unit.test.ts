// The page's pure parts, without a browser: ANSI colours, the dependency layout, Drone's
// UI paths, and the event-stream parser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAnsi } from '../../web/ansi.ts';
import { layers } from '../../web/graph.ts';
import { parseRoute } from '../../web/router.ts';
import { sseParser } from '../../web/sse.ts';

describe('parseAnsi', () => {
  it('turns SGR colours into classes and resets them', () => {
    const { segments } = parseAnsi('\x1b[1;31mfailed\x1b[0m ok \x1b[32mgreen\x1b[39m plain');
    assert.deepEqual(segments, [
      { text: 'failed', classes: ['fg-red', 'bold'] },
      { text: ' ok ', classes: [] },
      { text: 'green', classes: ['fg-green'] },
      { text: ' plain', classes: [] },
    ]);
  });

  it('carries a style over to the next line until it is reset', () => {
    const first = parseAnsi('\x1b[33mwarning: ');
    const second = parseAnsi('still yellow\x1b[0m', first.style);
    assert.deepEqual(second.segments, [{ text: 'still yellow', classes: ['fg-yellow'] }]);
  });

  it('drops cursor moves, titles and 256/true colour codes without showing them', () => {
    const { segments } = parseAnsi('\x1b[2K\x1b]0;title\x07\x1b[38;5;208mx\x1b[38;2;1;2;3my\r');
    assert.equal(segments.map((segment) => segment.text).join(''), 'xy');
  });

  it('never lets an escape byte through, whatever the input', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('\x1b[', '\x1b[1;3', 'm', '\x1b]', '\x07', ';', '\x1b[0m', '\x1b[31m'))), (parts) => {
        const text = parts.join('');
        const out = parseAnsi(text).segments.map((segment) => segment.text).join('');
        assert.ok(!out.includes('\x1b'));
      }),
    );
  });
});

describe('layers', () => {
  it('puts each node one column after its deepest dependency', () => {
    const nodes = [
      { name: 'build', deps: [] },
      { name: 'lint', deps: [] },
      { name: 'test', deps: ['build'] },
      { name: 'deploy', deps: ['test', 'lint'] },
    ];
    const columns = layers(nodes, (node) => node.name, (node) => node.deps).map((column) => column.map((node) => node.name));
    assert.deepEqual(columns, [['build', 'lint'], ['test'], ['deploy']]);
  });

  it('ignores unknown names and survives a cycle', () => {
    const nodes = [
      { name: 'a', deps: ['b', 'ghost'] },
      { name: 'b', deps: ['a'] },
    ];
    const columns = layers(nodes, (node) => node.name, (node) => node.deps);
    assert.equal(columns.flat().length, 2);
  });
});

describe('parseRoute (Drone UI paths)', () => {
  it('reads the repo list, builds, a build, a step and the timeline', () => {
    assert.deepEqual(parseRoute('/'), { page: 'repos' });
    assert.deepEqual(parseRoute('/acme/web'), { page: 'builds', slug: 'acme/web' });
    assert.deepEqual(parseRoute('/acme/web/settings'), { page: 'settings', slug: 'acme/web' });
    assert.deepEqual(parseRoute('/acme/web/12'), { page: 'build', slug: 'acme/web', number: 12, tab: 'graph' });
    assert.deepEqual(parseRoute('/acme/web/12/1/3'), { page: 'build', slug: 'acme/web', number: 12, stage: 1, step: 3, tab: 'graph' });
    assert.deepEqual(parseRoute('/acme/web/12', '#timeline'), { page: 'build', slug: 'acme/web', number: 12, tab: 'timeline' });
    assert.deepEqual(parseRoute('/queue'), { page: 'queue' });
    assert.deepEqual(parseRoute('/login'), { page: 'login' });
  });

  it('falls back to the builds list for a number that is not one', () => {
    assert.deepEqual(parseRoute('/acme/web/abc'), { page: 'builds', slug: 'acme/web' });
    assert.deepEqual(parseRoute('/acme/web/0'), { page: 'builds', slug: 'acme/web' });
  });
});

describe('sseParser', () => {
  it('assembles events split anywhere across chunks', () => {
    const stream = 'id: 1\nevent: line\ndata: {"out":"a"}\n\n: keep-alive\n\nid: 2\ndata: x\ndata: y\n\nevent: done\ndata: {}\n\n';
    fc.assert(
      fc.property(fc.array(fc.nat(stream.length), { maxLength: 6 }), (cuts) => {
        const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b);
        const parse = sseParser();
        const events = points.slice(1).flatMap((end, index) => parse(stream.slice(points[index], end)));
        assert.deepEqual(events, [
          { id: '1', event: 'line', data: '{"out":"a"}' },
          { id: '2', event: 'message', data: 'x\ny' },
          { event: 'done', data: '{}' },
        ]);
      }),
    );
  });
});
