import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { effectiveEmail, emailReason } from '../../src/notify/notify-decision.ts';

describe('when a build end sends an email', () => {
  test('given on success / on failure, then the build status alone decides', () => {
    assert.equal(emailReason('success', undefined, ['success']), 'success');
    assert.equal(emailReason('failure', undefined, ['failure']), 'failure');
    assert.equal(emailReason('error', 'error', ['failure']), 'failure', 'an errored build counts as a failure');
    assert.equal(emailReason('success', 'failure', ['failure']), undefined);
    assert.equal(emailReason('failure', undefined, []), undefined, '[] never mails');
  });

  test('given on change, then it fires only when the previous build of the ref ended otherwise', () => {
    assert.equal(emailReason('success', 'failure', ['change']), 'change');
    assert.equal(emailReason('failure', 'success', ['change']), 'change');
    assert.equal(emailReason('error', 'failure', ['change']), 'change');
    assert.equal(emailReason('success', 'success', ['change']), undefined);
    assert.equal(emailReason('failure', 'failure', ['change']), undefined);
    assert.equal(emailReason('failure', undefined, ['change']), undefined, 'a first build is not a change');
    assert.equal(emailReason('failure', 'failure', ['failure', 'change']), 'failure', 'failure wins over an unchanged status');
  });

  test('given a killed or declined build, then no email whatever the settings', () => {
    for (const status of ['killed', 'declined']) assert.equal(emailReason(status, 'success', ['success', 'failure', 'change']), undefined);
  });

  test('given repo and server settings, then the repo wins where it has its own', () => {
    const server = { recipients: ['ops@example.com'], on: ['failure' as const] };
    assert.deepEqual(effectiveEmail({ notifyEmail: [], notifyOn: null }, server), { recipients: ['ops@example.com'], on: ['failure'] });
    assert.deepEqual(effectiveEmail({ notifyEmail: ['dev@example.com'], notifyOn: ['change'] }, server), { recipients: ['dev@example.com'], on: ['change'] });
    assert.deepEqual(effectiveEmail({ notifyEmail: [], notifyOn: [] }, server).on, [], 'a repo may turn the server default off');
  });
});
