// The pure half of the StageQueue port: the wire format, Drone's match, and how pools are
// spelled as NATS subjects and consumer names. The property tests check that the subject
// encoding agrees with Drone's predicate: a runner's pools contain an offer's subject
// exactly when the runner matches the offer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  StageOffer,
  consumerName,
  matches,
  messageId,
  poolKey,
  poolSubject,
  poolsServedBy,
  subjectFor,
  subjectToken,
  type RunnerProfile,
} from '../../src/dispatch/stage-queue.ts';
import { labelsKey } from '../../src/projections/labels-key.ts';

const offer = (overrides: Partial<StageOffer> = {}): StageOffer => ({
  buildId: 'b1',
  stage: 1,
  attempt: 1,
  repoId: 'r1',
  platform: { os: 'linux', arch: 'amd64', variant: '', kernel: '' },
  labels: {},
  type: 'docker',
  ...overrides,
});

/** A valid token: no separator, no wildcard, no whitespace, not empty; and no '_' (consumer names join tokens with it). */
const validToken = (token: string) => /^[^.*>\s_]+$/.test(token);

describe('stage offer wire format', () => {
  it('parses the JSON a publisher sends, filling variant, kernel and labels', () => {
    const parsed = StageOffer.parse({ buildId: 'b1', stage: 2, attempt: 3, repoId: 'r1', platform: { os: 'linux', arch: 'arm64' }, type: 'exec' });
    assert.deepEqual(parsed, { buildId: 'b1', stage: 2, attempt: 3, repoId: 'r1', platform: { os: 'linux', arch: 'arm64', variant: '', kernel: '' }, labels: {}, type: 'exec' });
  });

  it('refuses offers a runner could not claim', () => {
    for (const bad of [
      { ...offer(), attempt: 0 },
      { ...offer(), stage: 1.5 },
      { ...offer(), buildId: '' },
      { ...offer(), type: 'ssh' },
      { ...offer(), platform: { os: '', arch: 'amd64' } },
      { ...offer(), labels: { a: 1 } },
    ]) {
      assert.equal(StageOffer.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  it('keys idempotence on build, stage and attempt', () => {
    assert.equal(messageId(offer({ buildId: 'b9', stage: 3, attempt: 2 })), 'b9:3:2');
  });
});

describe('subject tokens', () => {
  it('keeps plain platform words and escapes everything else', () => {
    assert.equal(subjectToken('linux'), 'linux');
    assert.equal(subjectToken('amd64'), 'amd64');
    assert.equal(subjectToken('ltsc2022'), 'ltsc2022');
    assert.equal(subjectToken('Windows-Server'), 'Windows-Server');
    assert.equal(subjectToken(''), '-');
    assert.equal(subjectToken('-'), '~2d');
    assert.equal(subjectToken('1.2'), '~312e32');
    assert.equal(subjectToken('a_b'), '~615f62');
    assert.equal(subjectToken('*'), '~2a');
    assert.equal(subjectToken('~2a'), '~7e3261');
    assert.equal(subjectToken('é'), '~c3a9');
  });

  it('spells any string as one valid token, never the same for two strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        assert.ok(validToken(subjectToken(a)), `${JSON.stringify(a)} → ${subjectToken(a)}`);
        if (a !== b) assert.notEqual(subjectToken(a), subjectToken(b));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pool keys and subjects', () => {
  it('names a pool by engine, variant, kernel and the labels key', () => {
    assert.equal(poolKey({ type: 'docker', variant: '', kernel: '', labels: {} }), 'docker_-_-_any');
    assert.equal(poolKey({ type: 'exec', variant: 'v7', kernel: '1809', labels: { zone: 'a' } }), `exec_v7_1809_${labelsKey({ zone: 'a' })}`);
    assert.equal(subjectFor(offer()), 'runlog.stages.linux.amd64.docker_-_-_any');
    assert.equal(
      subjectFor(offer({ platform: { os: 'windows', arch: 'amd64', variant: '', kernel: '1809' }, labels: { b: '2', a: '1' } }), 'x.y'),
      `x.y.windows.amd64.docker_-_1809_${labelsKey({ a: '1', b: '2' })}`,
    );
    assert.equal(consumerName({ os: 'linux', arch: 'arm', variant: 'v7', kernel: '', labels: {}, type: 'docker' }), 'linux_arm_docker_v7_-_any');
  });

  it('serves a runner one pool, or one more for each of variant and kernel it sets', () => {
    const runner = (variant?: string, kernel?: string): RunnerProfile => ({ platform: { os: 'linux', arch: 'arm', variant, kernel }, labels: {}, type: 'docker' });
    const keys = (r: RunnerProfile) => poolsServedBy(r).map((p) => poolKey(p));
    assert.deepEqual(keys(runner()), ['docker_-_-_any']);
    assert.deepEqual(keys(runner('v7')), ['docker_v7_-_any', 'docker_-_-_any']);
    assert.deepEqual(keys(runner('v7', 'k1')), ['docker_v7_k1_any', 'docker_v7_-_any', 'docker_-_k1_any', 'docker_-_-_any']);
    assert.throws(() => poolsServedBy({ platform: { os: '', arch: 'amd64' }, labels: {}, type: 'docker' }), /needs an os and an arch/);
  });

  it('keeps consumer names short and valid whatever the platform strings', () => {
    const pool = { os: 'x'.repeat(300), arch: 'a.b', variant: '', kernel: '', labels: {}, type: 'docker' as const };
    const name = consumerName(pool);
    assert.match(name, /^pool_[0-9a-f]{40}$/);
    assert.notEqual(name, consumerName({ ...pool, arch: 'a.c' }));
  });

  // Small alphabets so that matches are frequent.
  const word = fc.constantFrom('', 'linux', 'arm', 'v7', 'a.b', 'a_b');
  const nonEmpty = fc.constantFrom('linux', 'windows', 'arm', 'a.b', 'a_b');
  const labels = fc.dictionary(fc.constantFrom('zone', 'gpu', 'a.b'), fc.constantFrom('a', 'b', ''), { maxKeys: 3 });
  const engine = fc.constantFrom('docker' as const, 'exec' as const);
  const anOffer = fc.record({ os: nonEmpty, arch: nonEmpty, variant: word, kernel: word, labels, type: engine }).map(({ os, arch, variant, kernel, labels, type }) =>
    offer({ platform: { os, arch, variant, kernel }, labels, type }),
  );
  const aRunner = fc
    .record({ os: nonEmpty, arch: nonEmpty, variant: word, kernel: word, labels, type: engine })
    .map(({ os, arch, variant, kernel, labels, type }): RunnerProfile => ({ platform: { os, arch, variant, kernel }, labels, type }));

  /** A runner that shares each trait with the offer half of the time, so that matches are common. */
  const aRunnerNear = (o: StageOffer) =>
    fc
      .record({ runner: aRunner, same: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }) })
      .map(({ runner, same: [os, arch, variant, kernel, labels, type] }): RunnerProfile => ({
        platform: {
          os: os ? o.platform.os : runner.platform.os,
          arch: arch ? o.platform.arch : runner.platform.arch,
          variant: variant ? o.platform.variant : runner.platform.variant,
          kernel: kernel ? o.platform.kernel : runner.platform.kernel,
        },
        labels: labels ? { ...o.labels } : runner.labels,
        type: type ? o.type : runner.type,
      }));

  it("puts an offer on one of a runner's subjects exactly when Drone would give it that runner", () => {
    let matched = 0;
    fc.assert(
      fc.property(anOffer.chain((o) => fc.tuple(fc.constant(o), aRunnerNear(o))), ([o, r]) => {
        const served = poolsServedBy(r).map((p) => poolSubject('runlog.stages', p));
        const reaches = served.includes(subjectFor(o));
        assert.equal(reaches, matches(o, r));
        if (reaches) matched++;
      }),
      { numRuns: 5000 },
    );
    assert.ok(matched > 50, `the generators matched only ${matched} times`);
  });

  it("never gives one runner's pools the same subject, and spells each as valid tokens", () => {
    fc.assert(
      fc.property(aRunner, (r) => {
        const subjects = poolsServedBy(r).map((p) => poolSubject('runlog.stages', p));
        assert.equal(new Set(subjects).size, subjects.length);
        for (const subject of subjects) {
          const [, , os, arch, key] = subject.split('.');
          assert.equal(subject.split('.').length, 5, subject);
          assert.ok(validToken(os!) && validToken(arch!), subject);
          assert.equal(key!.split('_').length, 4, subject);
          assert.ok(key!.split('_').every(validToken), subject);
        }
      }),
    );
  });

  it("agrees with Drone's label check: same size, same values", () => {
    const runner: RunnerProfile = { platform: { os: 'linux', arch: 'amd64' }, labels: { zone: 'a', gpu: 'yes' }, type: 'docker' };
    assert.equal(matches(offer({ labels: { gpu: 'yes', zone: 'a' } }), runner), true);
    assert.equal(matches(offer({ labels: { zone: 'a' } }), runner), false);
    assert.equal(matches(offer({ labels: { zone: 'a', gpu: 'yes', disk: 'ssd' } }), runner), false);
    assert.equal(matches(offer({ labels: { zone: 'a', gpu: 'no' } }), runner), false);
    assert.equal(matches(offer({ labels: { zone: 'a', toString: 'x' } }), { ...runner, labels: { zone: 'a', hasOwnProperty: 'x' } }), false);
  });
});
