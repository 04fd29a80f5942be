import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { substitute } from '../../src/pipeline/substitute.ts';
import { goQuote } from '../../src/pipeline/go-quote.ts';

const vars: Record<string, string> = {
  DRONE_COMMIT_SHA: '8f51ad7884c5eb69c11d260a31da7a745e6b78e2',
  DRONE_TAG: 'v1.2.3',
  DRONE_BRANCH: 'feature/login-page',
  DRONE_REPO_NAME: 'Hello-World',
  EMPTY: '',
  FILE: 'bash.string.txt',
  PATH_NAME: '/home/bozo/ideas/thoughts.for.today',
  STRING_Z: 'abcABC123ABCabc',
  UNICODE: 'Ärger über Öl',
  MULTI: 'line one\nline "two"',
  DEFAULT_VAR: 'foo',
};

type Case = { name: string; input: string; want: string; with?: Record<string, string> };

function expand(input: string, with_: Record<string, string> = vars): string {
  const result = substitute(input, with_);
  assert.ok(result.ok, `expected ${JSON.stringify(input)} to expand, got ${JSON.stringify(result)}`);
  return result.text;
}

describe('substitute: what Drone expands and what it leaves alone', () => {
  const cases: Case[] = [
    { name: 'text without substitutions is unchanged', input: 'kind: pipeline\nname: x\n', want: 'kind: pipeline\nname: x\n' },
    { name: '${VAR}', input: 'tags: ${DRONE_TAG}', want: 'tags: v1.2.3' },
    { name: 'several on a line', input: '${DRONE_REPO_NAME}:${DRONE_TAG}', want: 'Hello-World:v1.2.3' },
    { name: 'unknown variable becomes empty (Drone)', input: 'x${NOPE}y', want: 'xy' },
    { name: '$VAR without braces is left for the shell (Drone, envsubst#25)', input: 'echo $GOOS $DRONE_TAG', want: 'echo $GOOS $DRONE_TAG' },
    { name: '$$ is a literal $ (Drone escaping)', input: 'echo $${GOARCH} $$HOME $$', want: 'echo ${GOARCH} $HOME $' },
    { name: '$$$$ is $$', input: 'pid $$$$', want: 'pid $$' },
    { name: '$$ then ${VAR}', input: '$$${DRONE_TAG}', want: '$v1.2.3' },
    { name: 'lone $ and $ at end', input: 'cost: 5$ and $', want: 'cost: 5$ and $' },
    { name: '$ before a non-brace', input: '$(date) $1 $@', want: '$(date) $1 $@' },
    { name: 'nested default', input: 'something ${var=${DEFAULT_VAR}}', want: 'something foo' },
    { name: 'nested default with suffix', input: 'foo: ${var=${DEFAULT_VAR}-suffix}', want: 'foo: foo-suffix' },
    { name: 'nested default with prefix', input: 'foo: ${var=prefix${DEFAULT_VAR}-suffix}', want: 'foo: prefixfoo-suffix' },
    { name: 'nested function in default', input: '${var=${DRONE_REPO_NAME^^}}', want: 'HELLO-WORLD' },
    { name: 'escaped expression keeps the inner one expanded', input: 'x $${var=${DEFAULT_VAR}}', want: 'x ${var=foo}' },
    { name: 'mixed (envsubst test)', input: 'some text ${DEFAULT_VAR}$${var$${DEFAULT_VAR}$DEFAULT_VAR${DEFAULT_VAR}', want: 'some text foo${var${DEFAULT_VAR}$DEFAULT_VARfoo' },
    { name: 'unicode names are names (envsubst acceptIdent)', input: '${ÄPFEL}', want: '', with: {} },
    { name: 'names may start with a digit, as in Drone', input: '${1}', want: 'one', with: { '1': 'one' } },
    { name: 'a key inherited from Object is not a variable', input: '[${constructor}${toString}${__proto__}]', want: '[]' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(expand(c.input, c.with ?? vars), c.want));
  }
});

describe('substitute: bash-like functions (docs.drone.io "Substitution")', () => {
  const cases: Case[] = [
    { name: '${#var}', input: '${#STRING_Z}', want: '15' },
    { name: '${#var} counts characters, not bytes', input: '${#UNICODE}', want: '13' },
    { name: '${#unset}', input: '${#NOPE}', want: '0' },
    { name: '${var^}', input: '${DRONE_BRANCH^}', want: 'Feature/login-page' },
    { name: '${var^^}', input: '${DRONE_BRANCH^^}', want: 'FEATURE/LOGIN-PAGE' },
    { name: '${var,}', input: '${DRONE_REPO_NAME,}', want: 'hello-World' },
    { name: '${var,,}', input: '${DRONE_REPO_NAME,,}', want: 'hello-world' },
    { name: 'case functions map one character to one (ß stays, as in Go and bash)', input: '${S^^}', want: 'STRAßE', with: { S: 'straße' } },
    { name: 'lowercasing İ gives i, as glibc and Go do', input: '${S,,}', want: 'i', with: { S: 'İ' } },
    { name: 'no final sigma: every Σ lowercases to σ', input: '${S,,}', want: 'σασ', with: { S: 'ΣΑΣ' } },
    { name: '${var^} of empty', input: '[${EMPTY^}]', want: '[]' },
    { name: '${var:pos}', input: '${PATH_NAME:11}', want: 'ideas/thoughts.for.today' },
    { name: '${var:pos:len}', input: '${PATH_NAME:11:5}', want: 'ideas' },
    { name: 'the short sha', input: '${DRONE_COMMIT_SHA:0:8}', want: '8f51ad78' },
    { name: 'negative position with a space', input: '${DRONE_TAG: -3}', want: '2.3' },
    { name: 'negative position in parentheses', input: '${DRONE_TAG:(-3):1}', want: '2' },
    { name: 'negative length', input: '${DRONE_TAG:1:-2}', want: '1.2' },
    { name: 'position past the end', input: '[${DRONE_TAG:10}]', want: '[]' },
    { name: 'negative position before the start', input: '[${DRONE_TAG: -10}]', want: '[]' },
    { name: 'length past the end', input: '${DRONE_TAG:1:100}', want: '1.2.3' },
    { name: 'empty position is 0', input: '${DRONE_TAG::2}', want: 'v1' },
    { name: 'substring counts characters', input: '${UNICODE:0:5}', want: 'Ärger' },
    { name: 'position from a nested substitution', input: '${DRONE_TAG:${N}}', want: '2.3', with: { DRONE_TAG: 'v1.2.3', N: '3' } },
    { name: '${var#pat}', input: '${FILE#*.}', want: 'string.txt' },
    { name: '${var##pat}', input: '${FILE##*.}', want: 'txt' },
    { name: '${var%pat}', input: '${FILE%.*}', want: 'bash.string' },
    { name: '${var%%pat}', input: '${FILE%%.*}', want: 'bash' },
    { name: 'strip the v of a tag (docs example)', input: '${DRONE_TAG##v}', want: '1.2.3' },
    { name: '# with * spanning slashes, as in bash', input: '${PATH_NAME##*/}', want: 'thoughts.for.today' },
    { name: '% with a class', input: '${FILE%[.]*}', want: 'bash.string' },
    { name: '# without a match', input: '${FILE#x*}', want: 'bash.string.txt' },
    { name: '# with * removes nothing (shortest match is empty)', input: '${FILE#*}', want: 'bash.string.txt' },
    { name: '## with * removes everything', input: '[${FILE##*}]', want: '[]' },
    { name: '${var/pat/rep}', input: '${STRING_Z/abc/xyz}', want: 'xyzABC123ABCabc' },
    { name: '${var//pat/rep}', input: '${STRING_Z//abc/xyz}', want: 'xyzABC123ABCxyz' },
    { name: '${var/#pat/rep}', input: '${STRING_Z/#abc/XYZ}', want: 'XYZABC123ABCabc' },
    { name: '${var/%pat/rep}', input: '${STRING_Z/%abc/XYZ}', want: 'abcABC123ABCXYZ' },
    { name: '/# only at the start', input: '${STRING_Z/#ABC/X}', want: 'abcABC123ABCabc' },
    { name: 'replace an escaped slash (envsubst test)', input: '${DRONE_BRANCH/\\//-}', want: 'feature-login-page' },
    { name: 'replace every escaped slash', input: '${P//\\//-}', want: 'foo-bar-baz', with: { P: 'foo/bar/baz' } },
    { name: 'replace with nothing', input: '${P/./}', want: 'foobar', with: { P: 'foo.bar' } },
    { name: 'delete without a replacement part', input: '${STRING_Z//abc}', want: 'ABC123ABC' },
    { name: 'replacement pattern is a glob', input: '${STRING_Z//[0-9]/#}', want: 'abcABC###ABCabc' },
    { name: 'longest match at the leftmost position', input: '${S/b*c/X}', want: 'aXd', with: { S: 'abcbcd' } },
    { name: 'empty pattern leaves the value', input: '${STRING_Z//}', want: 'abcABC123ABCabc' },
    { name: '& is literal in the replacement', input: '${S/b/&&}', want: 'a&&c', with: { S: 'abc' } },
    { name: 'replacement keeps backslashes Drone keeps', input: '${S/b/\\n}', want: 'a\\nc', with: { S: 'abc' } },
    { name: '${var=default} when unset', input: '${NOPE=xyz}', want: 'xyz' },
    { name: '${var=default} when set', input: '${DRONE_TAG=xyz}', want: 'v1.2.3' },
    { name: '${var=default} when empty takes the default, as Drone does', input: '${EMPTY=xyz}', want: 'xyz' },
    { name: '${var:=default}', input: '${EMPTY:=xyz}', want: 'xyz' },
    { name: '${var:-default}', input: '${NOPE:-xyz}', want: 'xyz' },
    { name: '${var:-default} when set', input: '${DRONE_TAG:-latest}', want: 'v1.2.3' },
    { name: 'default is empty', input: '[${NOPE:-}]', want: '[]' },
    { name: 'default keeps colons and backslashes', input: '${NOPE:-C:\\build\\out}', want: 'C:\\build\\out' },
    { name: ':= does not assign: a later ${var} is still empty (Drone)', input: '${X:=a}/${X}', want: 'a/' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(expand(c.input, c.with ?? vars), c.want));
  }
});

describe('substitute: a value with a newline is Go-quoted so the YAML stays valid (runner-go subf)', () => {
  it('quotes the whole value with Go escapes', () => {
    assert.equal(expand('message: ${MULTI}'), 'message: "line one\\nline \\"two\\""');
  });
  it('quotes before a function runs, as Drone does', () => {
    assert.equal(expand('${#MULTI}'), String([...goQuote(vars.MULTI)].length));
  });
  it('leaves a value without a newline as it is, quotes and all', () => {
    assert.equal(expand('${Q}', { Q: 'say "hi"' }), 'say "hi"');
  });
  it('writes Go escapes for control and non-printable characters', () => {
    assert.equal(goQuote('a\tb\u0001\u007f\u00a0é😀\n'), '"a\\tb\\x01\\x7f\\u00a0é😀\\n"');
  });
});

describe('substitute: unsupported forms are errors that name the form and where it is', () => {
  const cases: { name: string; input: string; message: RegExp; line: number; column: number }[] = [
    { name: '${var-default} (Drone does not support it)', input: 'a: 1\nb: ${X-d}\n', message: /^unsupported substitution '\$\{X-d\}': Drone supports/, line: 2, column: 4 },
    { name: '${var+alt}', input: '${X+alt}', message: /^unsupported substitution '\$\{X\+alt\}'/, line: 1, column: 1 },
    { name: '${var:+alt}', input: '  ${X:+alt}', message: /^unsupported substitution '\$\{X:\+alt\}'/, line: 1, column: 3 },
    { name: '${var:?msg}', input: '${X:?required}', message: /^unsupported substitution '\$\{X:\?required\}'/, line: 1, column: 1 },
    { name: '${var?msg}', input: '${X?msg}', message: /^unsupported substitution/, line: 1, column: 1 },
    { name: '${!var}', input: 'x\ny\n  z ${!REF}', message: /^unsupported substitution '\$\{!REF\}'/, line: 3, column: 5 },
    { name: '${var@Q}', input: '${X@Q}', message: /^unsupported substitution '\$\{X@Q\}'/, line: 1, column: 1 },
    { name: '${arr[0]}', input: '${A[0]}', message: /^unsupported substitution '\$\{A\[0\]\}'/, line: 1, column: 1 },
    { name: '${}', input: 'x ${}', message: /^empty substitution '\$\{\}'/, line: 1, column: 3 },
    { name: '${ var }', input: '${ X }', message: /^unsupported substitution '\$\{ X \}'/, line: 1, column: 1 },
    { name: '${#}', input: '${#}', message: /^unsupported substitution '\$\{#\}'/, line: 1, column: 1 },
    { name: 'unclosed', input: 'a\nimage: ${DRONE_TAG', message: /^unclosed substitution '\$\{DRONE_TAG': missing '\}'$/, line: 2, column: 8 },
    { name: 'unclosed default', input: '${X:-abc', message: /^unclosed substitution/, line: 1, column: 1 },
    { name: 'unclosed nested', input: '${X:-${Y}', message: /^unclosed substitution/, line: 1, column: 1 },
    { name: '${var^x}', input: '${X^x}', message: /^bad substitution '\$\{X\^x\}'/, line: 1, column: 1 },
    { name: '${var:} (bash: bad substitution)', input: '${X:}', message: /^bad substitution/, line: 1, column: 1 },
    { name: 'arithmetic offset', input: '${X:1+1}', message: /^unsupported substring offset '1\+1'/, line: 1, column: 1 },
    { name: 'substring ending before it starts (bash refuses it too)', input: '${X:2:-5}', message: /^substring expression < 0 in '\$\{X:2:-5\}'$/, line: 1, column: 1 },
    { name: 'error inside a default points at the inner expression', input: '${X:-a ${Y-b}}', message: /^unsupported substitution '\$\{Y-b\}'/, line: 1, column: 8 },
    { name: 'columns count from the start of the line', input: 'one\n\ttwo: "${X+}"', message: /^unsupported/, line: 2, column: 8 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = substitute(c.input, { X: 'abc' });
      assert.equal(result.ok, false, `expected an error for ${JSON.stringify(c.input)}`);
      if (result.ok) return;
      assert.match(result.message, c.message);
      assert.deepEqual({ line: result.line, column: result.column }, { line: c.line, column: c.column });
    });
  }

  it('refuses nesting deeper than 32 levels instead of overflowing the stack', () => {
    const deep = '${A:-'.repeat(5000) + 'x' + '}'.repeat(5000);
    const result = substitute(deep, {});
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.message, /nested more than 32 levels/);
    assert.deepEqual(substitute('${A:-'.repeat(32) + 'x' + '}'.repeat(32), {}), { ok: true, text: 'x' });
  });
});

describe('substitute: never throws', () => {
  const alphabet = fc.constantFrom('$', '{', '}', ':', '-', '=', '#', '%', '/', '^', ',', '\\', '[', ']', '*', '?', '!', '(', ')', '+', '@', ' ', '\n', 'A', 'b', '1', 'é', '😀');
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        substitute(text, vars);
      }),
      { numRuns: 2000 },
    );
  });
  it('on strings built from the characters that matter to the parser', () => {
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }).map((chars) => chars.join('')), fc.dictionary(fc.constantFrom('A', 'b', '1'), fc.string()), (text, env) => {
        const result = substitute(text, env);
        if (!result.ok) {
          assert.ok(result.line >= 1 && result.column >= 1);
          assert.ok(result.message.length > 0);
        }
      }),
      { numRuns: 5000 },
    );
  });
  it('leaves any text without a `$` exactly as it is', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !s.includes('$')), (text) => {
        assert.deepEqual(substitute(text, vars), { ok: true, text });
      }),
    );
  });
});
