import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFile } from '../../src/pipeline/parse.ts';
import { encodeSetting, goFloat, pluginEnvironment } from '../../src/pipeline/settings.ts';

/** The settings map of a one-document YAML text, as parse.ts reads it. */
function settings(text: string): Record<string, unknown> {
  const [doc] = parseFile(text).documents;
  return doc.value as Record<string, unknown>;
}

describe('settings → PLUGIN_* (drone-runner-docker encoder)', () => {
  const rows: Array<[string, string, string | undefined]> = [
    // given the YAML value, then the variable's text (undefined: left out)
    ['a: plain text', 'PLUGIN_A', 'plain text'],
    ['a: "quoted: yes"', 'PLUGIN_A', 'quoted: yes'],
    ['a: true', 'PLUGIN_A', 'true'],
    ['a: off', 'PLUGIN_A', 'false'],
    ['a: 42', 'PLUGIN_A', '42'],
    ['a: -7', 'PLUGIN_A', '-7'],
    ['a: 0x1F', 'PLUGIN_A', '31'],
    ['a: 1_000', 'PLUGIN_A', '1000'],
    ['a: 1.0', 'PLUGIN_A', '1'],
    ['a: 0.5', 'PLUGIN_A', '0.5'],
    ['a: 123456.7', 'PLUGIN_A', '123456.7'],
    ['a: 1234567.0', 'PLUGIN_A', '1.234567e+06'],
    ['a: 0.00001', 'PLUGIN_A', '1e-05'],
    ['a: .inf', 'PLUGIN_A', '+Inf'],
    ['a: 2001-12-14', 'PLUGIN_A', '2001-12-14'],
    ['a: [a, b, c]', 'PLUGIN_A', 'a,b,c'],
    // go-yaml v2, like YAML 1.1, reads a bare y (and n) as a boolean: Drone passes "true".
    ['a: [x, y, z]', 'PLUGIN_A', 'x,true,z'],
    ['a: [1, 2.50, true]', 'PLUGIN_A', '1,2.5,true'],
    ['a: [x, null]', 'PLUGIN_A', 'x,'],
    ['a: []', 'PLUGIN_A', ''],
    ['a: [[1, 2], [3]]', 'PLUGIN_A', '[[1,2],[3]]'],
    ['a: [{k: v}, x]', 'PLUGIN_A', '[{"k":"v"},"x"]'],
    ['a: {b: 1, a: [x], c: {d: null}}', 'PLUGIN_A', '{"a":["x"],"b":1,"c":{"d":null}}'],
    ['a: {url: "https://x?a=1&b=<2>"}', 'PLUGIN_A', '{"url":"https://x?a=1\\u0026b=\\u003c2\\u003e"}'],
    ['a: {from_secret: token}', 'PLUGIN_A', undefined],
    ['a:', 'PLUGIN_A', undefined],
    ['some_key: v', 'PLUGIN_SOME_KEY', 'v'],
    ['someKey: v', 'PLUGIN_SOMEKEY', 'v'],
    ['build-args: v', 'PLUGIN_BUILD-ARGS', 'v'],
  ];
  for (const [yaml, name, want] of rows) {
    test(`${yaml} → ${name}=${want ?? '(none)'}`, () => {
      const env = pluginEnvironment(settings(yaml));
      const got = env[name];
      if (want === undefined) assert.ok(got === undefined || 'secret' in got, JSON.stringify(got));
      else assert.deepEqual(got, { value: want });
    });
  }

  test('from_secret becomes a secret reference under the same name', () => {
    assert.deepEqual(pluginEnvironment(settings('password: {from_secret: docker_password}')), { PLUGIN_PASSWORD: { secret: 'docker_password' } });
  });

  test("goFloat prints as Go's strconv.FormatFloat(v, 'g', -1, 64)", () => {
    assert.deepEqual(
      [1e6, 999999, 1e21, 1.5e-7, 0.0001, -2.5, 0, Number.NaN, -Infinity].map(goFloat),
      ['1e+06', '999999', '1e+21', '1.5e-07', '0.0001', '-2.5', '0', 'NaN', '-Inf'],
    );
  });

  test('encodeSetting of a plain string is the string', () => {
    assert.equal(encodeSetting('a,b'), 'a,b');
  });
});
