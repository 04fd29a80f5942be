import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseByteSize } from '../../src/pipeline/byte-size.ts';

describe('byte sizes (docker/go-units RAMInBytes)', () => {
  const rows: Array<[string, number | undefined]> = [
    ['1024', 1024],
    ['1k', 1024],
    ['1K', 1024],
    ['1kb', 1024],
    ['1KiB', 1024],
    ['512m', 536870912],
    ['512MiB', 536870912],
    ['1g', 1073741824],
    ['2 GB', 2147483648],
    ['1.5k', 1536],
    ['1t', 1099511627776],
    ['big', undefined],
    ['1x', undefined],
    ['-1g', undefined],
    ['', undefined],
  ];
  for (const [text, want] of rows) test(`'${text}' → ${want}`, () => assert.equal(parseByteSize(text), want));
});
