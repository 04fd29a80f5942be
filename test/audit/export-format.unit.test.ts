import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  endLine,
  eventLine,
  ExportFormatError,
  headerLine,
  headLine,
  logLine,
  nextSection,
  parseExportLine,
  type ExportSection,
} from '../../src/audit/export-format.ts';

const event = {
  position: '42',
  stream: 'build-1',
  version: 3,
  type: 'StepFinished',
  recordedAt: '2026-01-01T00:00:05.123456Z',
  data: { stage: 1, step: 2, status: 'success', exitCode: 0, at: '2026-01-01T00:00:05.000Z' },
  metadata: { runnerId: 'runner-1' },
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
};

describe('export format', () => {
  test('given an event, then its line is one fixed order with canonical data, and reads back the same', () => {
    const line = eventLine(event);
    assert.equal(
      line,
      '{"position":"42","stream":"build-1","version":3,"type":"StepFinished","recorded_at":"2026-01-01T00:00:05.123456Z",' +
        '"data":{"at":"2026-01-01T00:00:05.000Z","exitCode":0,"stage":1,"status":"success","step":2},"metadata":{"runnerId":"runner-1"},' +
        `"prev_hash":"${'a'.repeat(64)}","hash":"${'b'.repeat(64)}"}`,
    );
    assert.deepEqual(parseExportLine(line, 2), { kind: 'event', event });
    // The same event with its keys in another order writes the same bytes.
    assert.equal(eventLine({ ...event, data: { at: event.data.at, step: 2, status: 'success', stage: 1, exitCode: 0 } }), line);
  });

  test('given the other lines, then each reads back as its kind', () => {
    assert.deepEqual(parseExportLine(headerLine({ repo: 'octo/one' }), 1), { kind: 'header', format: 1, selection: { repo: 'octo/one' } });
    const chunk = { build: '00000000-0000-4000-8000-000000000001', stage: 1, step: 2, offset: 0, size: 3, created: '2026-01-01T00:00:05.000001Z', data: 'hi\n' };
    assert.deepEqual(parseExportLine(logLine(chunk), 5), { kind: 'log', chunk });
    assert.deepEqual(parseExportLine(headLine({ stream: 'build-1', version: 3, hash: 'b'.repeat(64) }), 6), { kind: 'head', head: { stream: 'build-1', version: 3, hash: 'b'.repeat(64) } });
    assert.deepEqual(parseExportLine(endLine({ events: 1, streams: 1, logs: 1 }), 7), { kind: 'end', end: { events: 1, streams: 1, logs: 1 } });
  });

  test('given a broken line, then the error names the line and the field', () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /^line 3: not JSON/],
      ['[1,2]', /^line 3: expected a JSON object/],
      [eventLine(event).replace('"version":3', '"version":0'), /^line 3: version: /],
      [eventLine(event).replace(`"hash":"${'b'.repeat(64)}"`, '"hash":"xyz"'), /^line 3: hash: expected 64 lowercase hex digits/],
      [eventLine(event).replace('"position":"42"', '"position":"4x2"'), /^line 3: position: expected a global position/],
      ['{"head":{"stream":"s","version":1}}', /^line 3: head\.hash/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseExportLine(text, 3), (error: unknown) => error instanceof ExportFormatError && message.test(error.message), text);
  });

  test('given lines out of place, then the order of sections is enforced', () => {
    const walk = (kinds: string[]) => {
      const lines: Record<string, string> = {
        header: headerLine({}),
        event: eventLine(event),
        log: logLine({ build: '00000000-0000-4000-8000-000000000001', stage: 1, step: 1, offset: 0, size: 0, created: '2026-01-01T00:00:00Z', data: '' }),
        head: headLine({ stream: 's', version: 1, hash: 'b'.repeat(64) }),
        end: endLine({ events: 0, streams: 0, logs: 0 }),
      };
      let section: ExportSection = 'start';
      kinds.forEach((kind, i) => (section = nextSection(section, parseExportLine(lines[kind]!, i + 1), i + 1)));
      return section;
    };
    assert.equal(walk(['header', 'event', 'event', 'log', 'head', 'end']), 'end');
    assert.equal(walk(['header', 'end']), 'end');
    assert.throws(() => walk(['event']), /line 1: expected the header/);
    assert.throws(() => walk(['header', 'header']), /line 2: a second header/);
    assert.throws(() => walk(['header', 'head', 'event']), /line 3: a event line after the heads section/);
    assert.throws(() => walk(['header', 'end', 'head']), /line 3: a line after the end line/);
    assert.throws(() => nextSection('start', { kind: 'header', format: 2, selection: {} }, 1), /export format 2, this runlog reads format 1/);
  });
});
