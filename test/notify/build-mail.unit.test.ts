import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildMail, logTail } from '../../src/notify/build-mail.ts';

const build = { number: 12, status: 'failure', event: 'push', target: 'main', after: '0123456789abcdef0123', message: 'Fix the thing\n\nlong body', author_name: 'Ada', author_login: 'ada', error: '' };

describe('the build-end email', () => {
  test('given a failed build, then the subject has slug, number and status, and the text the link and the failed step log tail', () => {
    const mail = buildMail({
      slug: 'acme/web',
      build,
      link: 'https://ci.example/acme/web/12',
      reason: 'failure',
      failed: { stage: 'default', step: 'test', exitCode: 2, logTail: ['npm test', 'FAIL one.test.ts'] },
    });
    assert.equal(mail.subject, '[runlog] acme/web #12 failure');
    assert.match(mail.text, /^acme\/web #12: failure\n/);
    assert.match(mail.text, /Link: +https:\/\/ci\.example\/acme\/web\/12\n/);
    assert.match(mail.text, /Commit: +0123456789ab\n/);
    assert.match(mail.text, /Message: Fix the thing\n/);
    assert.doesNotMatch(mail.text, /long body/);
    assert.match(mail.text, /Failed step: test \(stage default, exit code 2\)\nLast 2 lines of its log:\n  npm test\n  FAIL one\.test\.ts\n$/);
  });

  test('given a change to success, then the text says what it was', () => {
    const mail = buildMail({ slug: 'acme/web', build: { ...build, status: 'success' }, link: 'l', reason: 'change', previousStatus: 'failure' });
    assert.equal(mail.subject, '[runlog] acme/web #12 success');
    assert.match(mail.text, /^acme\/web #12: success \(was failure\)/);
    assert.doesNotMatch(mail.text, /Failed step/);
  });

  test('given a config error, then the error is in the text', () => {
    const mail = buildMail({ slug: 'a/b', build: { ...build, status: 'error', error: 'line 3: unknown key' }, link: 'l', reason: 'failure' });
    assert.match(mail.text, /Error: line 3: unknown key/);
  });
});

describe('a log tail', () => {
  test('given a long log, then the last lines, without colour codes or carriage-return overwrites', () => {
    const text = `${Array.from({ length: 80 }, (_, i) => `line ${i + 1}`).join('\n')}\n\x1b[31mred\x1b[0m\nprogress 10%\rprogress 100%\r\n`;
    const tail = logTail(text, 50);
    assert.equal(tail.length, 50);
    assert.equal(tail[0], 'line 33', '80 lines and 2 more: the last 50 start at 33');
    assert.deepEqual(tail.slice(-2), ['red', 'progress 100%']);
  });

  test('given text read from the middle of a log, then the cut first line is dropped', () => {
    assert.deepEqual(logTail('ne 1\nline 2\nline 3', 50, true), ['line 2', 'line 3']);
  });

  test('given a very long line, then it is cut', () => {
    const [line] = logTail('x'.repeat(2000));
    assert.equal(line!.length, 501);
  });
});
