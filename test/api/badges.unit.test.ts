import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { badgeWord, ccXml, statusSvg } from '../../src/api/badges.ts';

describe('badge rendering', () => {
  test('given each build status, when worded, then it is Drone\'s badge word', () => {
    const words = Object.fromEntries(['pending', 'blocked', 'running', 'success', 'failure', 'killed', 'error', 'declined'].map((status) => [status, badgeWord(status)]));
    assert.deepEqual(words, { pending: 'started', blocked: 'started', running: 'started', success: 'passing', failure: 'failing', killed: 'failing', error: 'error', declined: 'failing' });
    assert.equal(badgeWord(undefined), 'none');
  });

  test('given a word, when drawn, then the SVG is well formed and wider for longer words', () => {
    const passing = statusSvg('passing');
    assert.match(passing, /<svg[^>]+width="(\d+)"[\s\S]*<\/svg>$/);
    assert.match(passing, /fill="#4c1"/);
    const width = (svg: string) => Number(/width="(\d+)"/.exec(svg)![1]);
    assert.ok(width(statusSvg('none')) < width(passing));
  });

  test('given a slug with XML characters, when fed to CCTray, then it is escaped', () => {
    const xml = ccXml({ slug: 'a&b/<c>', webUrl: 'http://x/"y"' }, { number: 3, status: 'running', started: 0, created: 1_700_000_000 });
    assert.match(xml, /name="a&#38;b\/&#60;c&#62;"/);
    assert.match(xml, /activity="Building"/);
    assert.match(xml, /lastBuildTime="2023-11-14T22:13:20Z"/);
  });
});
