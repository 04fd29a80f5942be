import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { compile } from '../../src/pipeline/compile.ts';
import { Plan } from '../../src/pipeline/plan.ts';
import { buildContext } from './build-context.ts';

/**
 * Whatever the text, `compile` returns: a plan and no error, or errors and no plan, every
 * diagnostic placed inside the file. It never throws.
 */
function checkTotal(text: string): void {
  const { plan, diagnostics } = compile(text, buildContext());
  const errors = diagnostics.filter((d) => d.severity === 'error');
  assert.equal(plan === undefined, errors.length > 0, `plan ${plan ? 'with' : 'without'} ${errors.length} errors`);
  const lines = text.split('\n').length;
  for (const d of diagnostics) {
    assert.ok(d.line >= 1 && d.column >= 1 && d.document >= 0, JSON.stringify(d));
    assert.ok(d.line <= lines + 1, `line ${d.line} beyond the text's ${lines} lines`);
    assert.ok(d.message.length > 0);
  }
  if (plan) Plan.parse(plan);
}

const scalar = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('yes', 'on', '0755', '1.10', '${DRONE_BRANCH}', '$${X}', 'from_secret'));
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 4 })),
})).value;

/** Values where Drone's fields are, so the walk reaches validation and planning, not just the kind check. */
const stepLike = fc.record(
  {
    name: fc.oneof(fc.constantFrom('build', 'test', 'clone', 'deploy'), scalar),
    image: fc.oneof(fc.constantFrom('golang', 'plugins/docker', ''), scalar),
    commands: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), anyValue),
    environment: fc.oneof(fc.dictionary(fc.constantFrom('A', 'DRONE_BRANCH', 'B'), fc.oneof(scalar, fc.record({ from_secret: fc.string() }))), anyValue),
    settings: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), anyValue), anyValue),
    depends_on: fc.oneof(fc.array(fc.constantFrom('build', 'test', 'clone', 'deploy', 'nope')), anyValue),
    when: fc.oneof(fc.record({ branch: fc.oneof(fc.string(), fc.array(fc.string())), status: fc.constantFrom('success', 'failure', ['failure', 'success']) }), anyValue),
    volumes: fc.oneof(fc.array(fc.record({ name: fc.constantFrom('cache', 'x'), path: fc.string() })), anyValue),
    privileged: fc.oneof(fc.boolean(), anyValue),
    shm_size: fc.oneof(fc.constantFrom('1g', '512MiB', 'big', 0), anyValue),
    retry: fc.oneof(fc.record({ limit: fc.integer({ min: -1, max: 12 }) }), anyValue),
    failure: fc.constantFrom('ignore', 'fast', 'IGNORE'),
    detach: fc.boolean(),
  },
  { requiredKeys: [] },
);

const pipelineLike = fc.record(
  {
    kind: fc.oneof(fc.constantFrom('pipeline', 'secret', 'signature', 'template'), scalar),
    type: fc.constantFrom('docker', 'exec', 'kubernetes', ''),
    name: fc.constantFrom('a', 'b', 'default'),
    steps: fc.oneof(fc.array(stepLike, { maxLength: 4 }), anyValue),
    services: fc.array(stepLike, { maxLength: 2 }),
    depends_on: fc.array(fc.constantFrom('a', 'b', 'c')),
    trigger: fc.oneof(fc.record({ event: fc.constantFrom('push', 'tag'), status: fc.constantFrom('failure', 'success') }), anyValue),
    volumes: fc.oneof(fc.array(fc.record({ name: fc.constantFrom('cache', 'workspace'), temp: fc.constant({}) })), anyValue),
    platform: fc.oneof(fc.record({ os: fc.constantFrom('linux', 'windows', 'darwin'), arch: fc.constantFrom('amd64', 'arm64', 'x') }), anyValue),
    workspace: fc.oneof(fc.record({ path: fc.constantFrom('/src', 'src', '/etc', '') }), anyValue),
    clone: fc.oneof(fc.record({ disable: fc.boolean(), depth: fc.integer() }), anyValue),
    hmac: fc.string(),
    get: fc.record({ path: fc.string(), name: fc.string() }),
  },
  { requiredKeys: [] },
);

const fixtures = readdirSync(new URL('./fixtures/', import.meta.url))
  .filter((file) => file.endsWith('.yml'))
  .map((file) => readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8'));

describe('compile: total on any input', () => {
  test('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), checkTotal), { numRuns: 300 });
  });

  test('arbitrary YAML documents', () => {
    fc.assert(fc.property(anyValue, (value) => checkTotal(stringify(value))), { numRuns: 300 });
  });

  test('arbitrary multi-document files of pipeline-shaped documents', () => {
    fc.assert(
      fc.property(fc.array(pipelineLike, { minLength: 1, maxLength: 3 }), (documents) => checkTotal(documents.map((d) => stringify(d)).join('---\n'))),
      { numRuns: 300 },
    );
  });

  test('real pipelines with random edits', () => {
    const edit = fc.record({ file: fc.nat(fixtures.length - 1), at: fc.nat(), cut: fc.nat({ max: 8 }), insert: fc.string({ maxLength: 6 }) });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let text = fixtures[edits[0].file];
        for (const { at, cut, insert } of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + cut);
        }
        checkTotal(text);
      }),
      { numRuns: 300 },
    );
  });

  test('hostile YAML: alias bombs, deep nesting, huge keys', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`), 'kind: pipeline'].join('\n');
    checkTotal(bomb);
    checkTotal(`${'['.repeat(5000)}${']'.repeat(5000)}`);
    checkTotal(`kind: pipeline\nsteps:\n${'  - '.repeat(2000)}x\n`);
    checkTotal(`${'k'.repeat(100_000)}: v\n`);
    checkTotal('kind: pipeline\nsteps: &s\n- name: a\n  image: x\n  <<: *s\n');
  });
});
