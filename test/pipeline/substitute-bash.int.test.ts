import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { substitute } from '../../src/pipeline/substitute.ts';

/**
 * Every substitution function, compared with what bash itself prints for the same
 * expression and variables (bash 5, C.UTF-8 locale, `patsub_replacement` off as in bash < 5.2).
 * Drone documents these functions as bash's; the few places where runlog follows Drone
 * instead are listed at the end with the reason, and checked against bash too, so a change
 * on either side shows up here.
 */

type Vars = Record<string, string>;

const bashAvailable = spawnSync('bash', ['-c', 'true']).status === 0;

/** The environment bash runs in: ours, minus the test's variable names and anything bash would source. */
function baseEnv(): Vars {
  const env: Vars = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !['V', 'W', 'BASH_ENV', 'ENV'].includes(key)) env[key] = value;
  }
  return { ...env, LC_ALL: 'C.UTF-8' };
}
const inherited = baseEnv();

/** Runs `r=<expression>; printf %s "$r"` in bash with `vars` exported; null when bash fails (a bash error). */
function bash(expression: string, vars: Vars): string | null {
  const result = spawnSync('bash', ['-c', `shopt -u patsub_replacement 2>/dev/null; r=${expression}; printf %s "$r"`], {
    env: { ...inherited, ...vars },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return result.status === 0 ? result.stdout : null;
}

function runlog(expression: string, vars: Vars): string | null {
  const result = substitute(expression, vars);
  return result.ok ? result.text : null;
}

/** Each expression with each set of variables; `{}` is the unset case. */
type Group = { fn: string; expressions: string[]; inputs: Vars[] };

const text = (...values: string[]): Vars[] => [...values.map((V) => ({ V })), {}];

const groups: Group[] = [
  { fn: '${var}', expressions: ['${V}', 'x${V}y'], inputs: text('abc', '', 'Ärger über Öl', 'a b  c') },
  { fn: '${#var}', expressions: ['${#V}'], inputs: text('hello', '', 'Ärger über', '😀x', 'ß') },
  { fn: '${var^}', expressions: ['${V^}'], inputs: text('hello', 'élan', 'ǆx', 'ßa', '', '1abc', 'Already') },
  { fn: '${var^^}', expressions: ['${V^^}'], inputs: text('Hello World', 'straße', 'ǆ', 'çà ñ', '', 'ΑΣσς') },
  { fn: '${var,}', expressions: ['${V,}'], inputs: text('HELLO', 'ÉLAN', 'ǅx', '', 'already') },
  { fn: '${var,,}', expressions: ['${V,,}'], inputs: text('HeLLo WORLD', 'ΣΑΣ', 'İSTANBUL', 'ÀÉÎ', '') },
  {
    fn: '${var:position}',
    expressions: ['${V:2}', '${V:0}', '${V: -2}', '${V:(-2)}', '${V: -10}', '${V:10}', '${V: +1}'],
    inputs: text('abcdef', 'äöüßxy', 'ab', ''),
  },
  {
    fn: '${var:position:length}',
    expressions: ['${V:1:2}', '${V:0:0}', '${V:1:-1}', '${V: -3:2}', '${V::3}', '${V:1:100}', '${V:(-4):(-1)}', '${V:2:-4}'],
    inputs: text('abcdef', 'äöüßxy', '日本語のテキスト'),
  },
  {
    fn: '${var#substring}',
    expressions: ['${V#*.}', '${V#a}', '${V#[ab]}', '${V#*}', '${V#\\*}', '${V#?}', '${V#*/}', '${V#ä}'],
    inputs: text('bash.string.txt', 'noext', '*x.y', 'a/b/c', 'ä.ö.ü', ''),
  },
  {
    fn: '${var##substring}',
    expressions: ['${V##*.}', '${V##*/}', '${V##v}', '${V##*}', '${V##[a-c]*}', '${V##*[!0-9]}'],
    inputs: text('bash.string.txt', '/path/to/file', 'v1.2.3', 'abc123', 'ö/ä/ü', ''),
  },
  {
    fn: '${var%substring}',
    expressions: ['${V%.*}', '${V%/*}', '${V%[0-9]}', '${V%*}', '${V%?}', '${V%ü}'],
    inputs: text('bash.string.txt', '/path/to/file', 'abc123', 'über/ü', ''),
  },
  {
    fn: '${var%%substring}',
    expressions: ['${V%%.*}', '${V%%[0-9]*}', '${V%%*}', '${V%%/*}', '${V%%[[:digit:]]*}'],
    inputs: text('bash.string.txt', 'abc123def', 'a/b/c', 'ä1ö2', ''),
  },
  {
    fn: '${var/substring/replacement}',
    expressions: ['${V/b/X}', '${V/b*/X}', '${V/[0-9]/#}', '${V/ü/ue}', '${V/?/_}', '${V/\\//-}', '${V/x/y}', '${V/b}', '${V/*/all}'],
    inputs: text('abcbcb', 'a1b2', 'über ü', 'a/b/c', ''),
  },
  {
    fn: '${var//substring/replacement}',
    expressions: ['${V//b/X}', '${V//[aeiou]/}', '${V//\\//-}', '${V//ö/oe}', '${V//?/.}', '${V//b*/X}', '${V//[[:upper:]]/_}', '${V//*/x}'],
    inputs: [{ V: 'abcbcb' }, { V: 'öööx/y' }, { V: 'feature/Login-Page' }, { V: '' }],
  },
  {
    fn: '${var/#substring/replacement}',
    expressions: ['${V/#a/X}', '${V/#b/X}', '${V/#*c/X}', '${V/#/X}', '${V/#ä/ae}'],
    inputs: [{ V: 'abcabc' }, { V: 'äbc' }, { V: '' }],
  },
  {
    fn: '${var/%substring/replacement}',
    expressions: ['${V/%c/X}', '${V/%*c/X}', '${V/%bc/X}', '${V/%/X}', '${V/%ü/ue}', '${V/%[0-9]/N}'],
    inputs: text('abcabc', 'grüü', 'v1', ''),
  },
  { fn: '${var=default}', expressions: ['${V=dflt}', '${V=a b c}', '${V=${W}-x}'], inputs: [{ V: 'set' }, {}, { W: 'w' }] },
  { fn: '${var:=default}', expressions: ['${V:=dflt}', '${V:=}', '${V:=${W}}'], inputs: [{ V: 'set' }, { V: '' }, {}, { W: 'ü' }] },
  { fn: '${var:-default}', expressions: ['${V:-dflt}', '${V:-a b}', '${V:-${W^^}}', '${V:-}'], inputs: [{ V: 'set' }, { V: '' }, {}, { W: 'wü' }] },
];

/**
 * Where runlog gives Drone's answer rather than bash's. Each is checked against both, so
 * the table stays true.
 */
const droneOverBash: { expression: string; vars: Vars; drone: string | null; why: string }[] = [
  {
    expression: '${V=dflt}',
    vars: { V: '' },
    drone: 'dflt',
    why: "envsubst cannot tell an empty variable from an unset one (toDefault: `len(s) == 0`), so `=` takes the default; pipelines use this with variables Drone always sets, such as ${DRONE_DEPLOY_TO=staging}",
  },
  {
    expression: '${V//*/x}',
    vars: {},
    drone: 'x',
    why: 'an unset variable is an empty string in Drone, and bash replaces the empty match of an empty (set) value too',
  },
  { expression: '${V/#/x}', vars: {}, drone: 'x', why: 'as above: Drone has no unset variables' },
  { expression: '${V/*/all}', vars: {}, drone: 'all', why: 'as above' },
  { expression: '${V/%/X}', vars: {}, drone: 'X', why: 'as above' },
  {
    expression: '$V',
    vars: { V: 'value' },
    drone: '$V',
    why: 'Drone expands only ${...}; $VAR is left for the shell of the step (envsubst#25)',
  },
  {
    expression: '$${V}',
    vars: { V: 'value' },
    drone: '${V}',
    why: 'Drone reads $$ as an escaped $ (docs.drone.io "Substitution" → Escaping); to bash it is the process id',
  },
  {
    expression: '${V-dflt}',
    vars: {},
    drone: null,
    why: 'not one of Drone\'s functions (envsubst readme: "Unsupported Functions"); runlog reports it instead of guessing',
  },
  {
    expression: '${V:-C:\\dir}',
    vars: {},
    drone: 'C:\\dir',
    why: 'envsubst keeps backslashes in a default word; bash removes them',
  },
];

/** The bash table skips the pairs that the Drone table covers. */
function isDroneCase(expression: string, vars: Vars): boolean {
  return droneOverBash.some((c) => c.expression === expression && JSON.stringify(c.vars) === JSON.stringify(vars));
}

describe('substitute matches bash', { skip: !bashAvailable && 'bash is not installed' }, () => {
  for (const group of groups) {
    it(group.fn, () => {
      const mismatches: string[] = [];
      for (const expression of group.expressions) {
        for (const vars of group.inputs) {
          if (isDroneCase(expression, vars)) continue;
          const want = bash(expression, vars);
          const got = runlog(expression, vars);
          if (got !== want) {
            mismatches.push(`${expression} with ${JSON.stringify(vars)}: bash ${JSON.stringify(want)}, runlog ${JSON.stringify(got)}`);
          }
        }
      }
      assert.deepEqual(mismatches, []);
    });
  }

  it('fails where bash fails', () => {
    for (const [expression, vars] of [
      ['${V:}', { V: 'abc' }],
      ['${V:2:-5}', { V: 'abc' }],
      ['${V', { V: 'abc' }],
      ['${}', {}],
    ] as [string, Vars][]) {
      assert.equal(bash(expression, vars), null, `bash accepted ${expression}`);
      assert.equal(runlog(expression, vars), null, `runlog accepted ${expression}`);
    }
  });
});

describe('where runlog follows Drone, not bash', { skip: !bashAvailable && 'bash is not installed' }, () => {
  for (const c of droneOverBash) {
    it(`${c.expression} with ${JSON.stringify(c.vars)}: ${c.why}`, () => {
      assert.equal(runlog(c.expression, c.vars), c.drone);
      assert.notEqual(bash(c.expression, c.vars), c.drone, 'bash now agrees with Drone: move this case to the bash table');
    });
  }
});
