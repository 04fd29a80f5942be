import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSecretMasker, MASK, MIN_SECRET_LENGTH, secretPatterns } from '../../src/runner/secret-masker.ts';

/** Feeds `chunks` through a fresh masker and returns everything it emitted. */
function run(secrets: string[], chunks: string[]): string {
  const masker = createSecretMasker(secrets);
  return chunks.map((chunk) => masker.write(chunk)).join('') + masker.end();
}

describe('secret masker', () => {
  it('masks a secret printed plainly and inside longer text', () => {
    const out = run(['hunter2-xyz'], ['token=hunter2-xyz\n', 'Bearer:hunter2-xyzhunter2-xyz;\n']);
    assert.equal(out, `token=${MASK}\nBearer:${MASK}${MASK};\n`);
  });

  it('masks a secret split over chunk boundaries, one character at a time', () => {
    const text = 'before s3cr3t-value after\n';
    assert.equal(run(['s3cr3t-value'], [...text]), `before ${MASK} after\n`);
  });

  it('masks a multi-line secret as a whole and line by line, as Drone does', () => {
    const key = '-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n-----END KEY-----';
    const whole = run([key], [`key:\n${key}\n`]);
    assert.equal(whole, `key:\n${MASK}\n`);
    // Re-indented (as YAML or a tool would print it), each line is still masked.
    const indented = run([key], ['  -----BEGIN KEY-----\n', '  MIIBOgIBAAJBAK\n', '  -----END KEY-----\n']);
    assert.equal(indented, `  ${MASK}\n  ${MASK}\n  ${MASK}\n`);
  });

  it('masks a secret that spans a line break in the output', () => {
    assert.equal(run(['abc\ndef-ghi'], ['x abc\nd', 'ef-ghi y']), `x ${MASK} y`);
  });

  it('leaves values shorter than the minimum alone: they would only garble the log', () => {
    assert.equal(MIN_SECRET_LENGTH, 4);
    assert.equal(run(['yes', 'abcd'], ['yes abcd']), `yes ${MASK}`);
    assert.deepEqual(secretPatterns(['ab\ncdefg', '']), ['ab\ncdefg', 'cdefg']);
  });

  it('passes text through untouched when there is nothing to mask', () => {
    const masker = createSecretMasker([]);
    assert.equal(masker.write('plain'), 'plain');
    assert.equal(masker.end(), '');
  });

  it('emits text at once when it cannot become a secret, and holds back only a possible prefix', () => {
    const masker = createSecretMasker(['password']);
    assert.equal(masker.write('log line\n'), 'log line\n');
    assert.equal(masker.write('pass'), '');
    assert.equal(masker.write('port\n'), 'passport\n');
    assert.equal(masker.write('passw'), '');
    assert.equal(masker.end(), 'passw');
  });

  it('masks overlapping secrets as one run, so neither shows', () => {
    assert.equal(run(['abcdef', 'defghi'], ['xxabcdefghixx']), `xx${MASK}xx`);
  });

  // The property the issue asks for: whatever the text and wherever the chunks split it,
  // no secret (and no line of a multi-line secret) survives, and chunking changes nothing.
  it('never lets a secret through, for random text, secrets and chunk boundaries', () => {
    const alphabet = fc.constantFrom(...'abcde \n-'.split(''));
    const word = (min: number, max: number) => fc.array(alphabet, { minLength: min, maxLength: max }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(
        fc.array(word(MIN_SECRET_LENGTH, 12), { minLength: 1, maxLength: 4 }),
        fc.array(word(0, 20), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 20 }),
        (secrets, fillers, picks, cuts) => {
          let text = '';
          fillers.forEach((filler, i) => {
            text += filler + (i < picks.length ? secrets[picks[i] % secrets.length] : '');
          });
          const chunks: string[] = [];
          let at = 0;
          for (const size of cuts) {
            chunks.push(text.slice(at, at + size));
            at += size;
          }
          chunks.push(text.slice(at));
          const streamed = run(secrets, chunks);
          for (const pattern of secretPatterns(secrets)) assert.ok(!streamed.includes(pattern), `${JSON.stringify(pattern)} leaked`);
          assert.equal(streamed, run(secrets, [text]));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
