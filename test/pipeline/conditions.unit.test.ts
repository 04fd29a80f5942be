import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Condition,
  Conditions,
  evaluateConditions,
  factsFrom,
  runsOn,
  STATUS_VALUES,
} from '../../src/pipeline/conditions.ts';
import type { ConditionFacts, ConditionsInput } from '../../src/pipeline/conditions.ts';
import { globMatch } from '../../src/pipeline/glob.ts';
import { CompileContext } from '../../src/pipeline/trigger.ts';
import type { CompileContextInput } from '../../src/pipeline/trigger.ts';
import type { Skip } from '../../src/pipeline/plan.ts';

const push: ConditionFacts = {
  branch: 'main',
  event: 'push',
  ref: 'refs/heads/main',
  repo: 'octocat/hello-world',
  instance: 'ci.example.com',
  target: '',
  cron: '',
  action: '',
};

type Case = { name: string; when: ConditionsInput; facts?: Partial<ConditionFacts>; skip?: Skip };

function check(c: Case): void {
  const conditions = Conditions.parse(c.when);
  assert.deepEqual(evaluateConditions(conditions, { ...push, ...c.facts }), c.skip);
}

describe('conditions: the when/trigger schema', () => {
  it('reads a string as a one-pattern include (runner-go UnmarshalYAML)', () => {
    assert.deepEqual(Condition.parse('main'), { include: ['main'], exclude: [] });
  });
  it('reads a list as the include list', () => {
    assert.deepEqual(Condition.parse(['main', 'release/*']), { include: ['main', 'release/*'], exclude: [] });
  });
  it('reads include and exclude, each a string or a list', () => {
    assert.deepEqual(Condition.parse({ include: 'main', exclude: ['dev', 'tmp/*'] }), { include: ['main'], exclude: ['dev', 'tmp/*'] });
    assert.deepEqual(Condition.parse({ exclude: 'dev' }), { include: [], exclude: ['dev'] });
    assert.deepEqual(Condition.parse({}), { include: [], exclude: [] });
  });
  it('refuses other shapes: a number, null, a list of non-strings, an unknown key', () => {
    for (const bad of [1, null, [1], { include: ['a'], only: ['b'] }, { include: [null] }]) {
      assert.equal(Condition.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
  it('knows every key Drone knows and reports any other', () => {
    const all = { branch: 'a', event: 'b', ref: 'c', repo: 'd', instance: 'e', status: 'f', target: 'g', cron: 'h', action: 'i', paths: 'j' };
    assert.equal(Conditions.safeParse(all).success, true);
    const result = Conditions.safeParse({ branch: 'main', branches: 'main' });
    assert.equal(result.success, false);
    if (!result.success) assert.match(JSON.stringify(result.error.issues), /branches/);
  });
});

describe('conditions: evaluateConditions, field by field', () => {
  const cases: Case[] = [
    { name: 'no conditions match everything', when: {} },
    { name: 'an empty condition matches everything', when: { branch: {} } },
    // branch
    { name: 'branch: the same branch', when: { branch: 'main' } },
    { name: 'branch: another branch', when: { branch: ['main', 'release/*'] }, facts: { branch: 'dev' }, skip: { condition: 'branch', reason: "branch 'dev' does not match include [main, release/*]" } },
    { name: 'branch: feature/* matches one level', when: { branch: 'feature/*' }, facts: { branch: 'feature/login' } },
    { name: 'branch: feature/* does not match two levels (path glob)', when: { branch: 'feature/*' }, facts: { branch: 'feature/a/b' }, skip: { condition: 'branch', reason: "branch 'feature/a/b' does not match include [feature/*]" } },
    { name: 'branch: feature/** matches any depth', when: { branch: 'feature/**' }, facts: { branch: 'feature/a/b' } },
    { name: 'branch: * does not match a slash', when: { branch: '*' }, facts: { branch: 'feature/x' }, skip: { condition: 'branch', reason: "branch 'feature/x' does not match include [*]" } },
    { name: 'branch: {a,b} alternatives', when: { branch: 'release-{stable,beta}' }, facts: { branch: 'release-beta' } },
    { name: 'branch: a class', when: { branch: 'v[0-9].x' }, facts: { branch: 'v2.x' } },
    { name: 'branch: exclude', when: { branch: { exclude: ['dev', 'tmp/*'] } }, facts: { branch: 'tmp/x' }, skip: { condition: 'branch', reason: "branch 'tmp/x' matches exclude [dev, tmp/*]" } },
    { name: 'branch: exclude lets others through', when: { branch: { exclude: 'dev' } } },
    { name: 'branch: exclude wins over include (Drone)', when: { branch: { include: ['release/*'], exclude: ['release/old'] } }, facts: { branch: 'release/old' }, skip: { condition: 'branch', reason: "branch 'release/old' matches exclude [release/old]" } },
    { name: 'branch: include and exclude both satisfied', when: { branch: { include: ['release/*'], exclude: ['release/old'] } }, facts: { branch: 'release/new' } },
    { name: 'branch: a tag build with no branch does not match a branch include', when: { branch: 'main' }, facts: { event: 'tag', branch: '', ref: 'refs/tags/v1.0.0' }, skip: { condition: 'branch', reason: "branch '' does not match include [main]" } },
    { name: 'branch: a malformed pattern matches nothing (Drone ignores the glob error)', when: { branch: 'main[' }, skip: { condition: 'branch', reason: "branch 'main' does not match include [main[]" } },
    // event
    { name: 'event: push', when: { event: 'push' } },
    { name: 'event: a pull request is not a push', when: { event: ['push', 'tag'] }, facts: { event: 'pull_request' }, skip: { condition: 'event', reason: "event 'pull_request' does not match include [push, tag]" } },
    { name: 'event: pull_request', when: { event: 'pull_request' }, facts: { event: 'pull_request', branch: 'main', ref: 'refs/pull/7/head' } },
    { name: 'event: exclude pull_request', when: { event: { exclude: 'pull_request' } }, facts: { event: 'pull_request' }, skip: { condition: 'event', reason: "event 'pull_request' matches exclude [pull_request]" } },
    { name: 'event: promote', when: { event: 'promote' }, facts: { event: 'promote', target: 'production' } },
    { name: 'event: cron', when: { event: 'cron' }, facts: { event: 'cron', cron: 'nightly' } },
    { name: 'event: a tag is not a push', when: { event: 'push' }, facts: { event: 'tag' }, skip: { condition: 'event', reason: "event 'tag' does not match include [push]" } },
    // ref
    { name: 'ref: refs/tags/v* matches a version tag', when: { ref: 'refs/tags/v*' }, facts: { event: 'tag', ref: 'refs/tags/v1.2.3' } },
    { name: 'ref: refs/tags/v* does not match another tag', when: { ref: 'refs/tags/v*' }, facts: { event: 'tag', ref: 'refs/tags/nightly' }, skip: { condition: 'ref', reason: "ref 'refs/tags/nightly' does not match include [refs/tags/v*]" } },
    { name: 'ref: refs/heads/* matches a branch ref', when: { ref: ['refs/heads/*', 'refs/pull/*/head'] } },
    { name: 'ref: refs/pull/*/head matches a pull request ref', when: { ref: 'refs/pull/*/head' }, facts: { ref: 'refs/pull/42/head' } },
    { name: 'ref: exclude tags', when: { ref: { exclude: 'refs/tags/**' } }, facts: { ref: 'refs/tags/a/b' }, skip: { condition: 'ref', reason: "ref 'refs/tags/a/b' matches exclude [refs/tags/**]" } },
    // repo
    { name: 'repo: the slug', when: { repo: 'octocat/hello-world' } },
    { name: 'repo: an owner glob', when: { repo: 'octocat/*' } },
    { name: 'repo: a fork', when: { repo: 'octocat/*' }, facts: { repo: 'someone/hello-world' }, skip: { condition: 'repo', reason: "repo 'someone/hello-world' does not match include [octocat/*]" } },
    // instance
    { name: 'instance: this server', when: { instance: 'ci.example.com' } },
    { name: 'instance: another server', when: { instance: ['drone.example.com', '*.internal'] }, skip: { condition: 'instance', reason: "instance 'ci.example.com' does not match include [drone.example.com, *.internal]" } },
    // target
    { name: 'target: the promoted environment', when: { target: 'production' }, facts: { event: 'promote', target: 'production' } },
    { name: 'target: another environment', when: { target: 'production' }, facts: { event: 'promote', target: 'staging' }, skip: { condition: 'target', reason: "target 'staging' does not match include [production]" } },
    { name: 'target: a push has no target', when: { target: 'production' }, skip: { condition: 'target', reason: "target '' does not match include [production]" } },
    { name: 'target: exclude', when: { target: { exclude: 'prod*' } }, facts: { event: 'rollback', target: 'production' }, skip: { condition: 'target', reason: "target 'production' matches exclude [prod*]" } },
    // cron
    { name: 'cron: the named job', when: { cron: 'nightly' }, facts: { event: 'cron', cron: 'nightly' } },
    { name: 'cron: another job', when: { cron: ['nightly', 'weekly-*'] }, facts: { event: 'cron', cron: 'hourly' }, skip: { condition: 'cron', reason: "cron 'hourly' does not match include [nightly, weekly-*]" } },
    { name: 'cron: exclude', when: { cron: { exclude: 'nightly' } }, facts: { event: 'cron', cron: 'nightly' }, skip: { condition: 'cron', reason: "cron 'nightly' matches exclude [nightly]" } },
    // action
    { name: 'action: opened', when: { action: ['opened', 'synchronize'] }, facts: { event: 'pull_request', action: 'opened' } },
    { name: 'action: closed', when: { action: ['opened', 'synchronize'] }, facts: { event: 'pull_request', action: 'closed' }, skip: { condition: 'action', reason: "action 'closed' does not match include [opened, synchronize]" } },
    { name: 'action: a push has none', when: { action: 'opened' }, skip: { condition: 'action', reason: "action '' does not match include [opened]" } },
    { name: 'action: exclude', when: { action: { exclude: 'closed' } }, facts: { event: 'pull_request', action: 'closed' }, skip: { condition: 'action', reason: "action 'closed' matches exclude [closed]" } },
    // status is a run-time policy, not evaluated here
    { name: 'status is left to runsOn', when: { status: 'failure' } },
    // order: the first failing condition is the one reported
    { name: 'several failing: branch is reported first, as Drone checks it first', when: { event: 'tag', branch: 'main', cron: 'x' }, facts: { branch: 'dev' }, skip: { condition: 'branch', reason: "branch 'dev' does not match include [main]" } },
    { name: 'several failing: event before action', when: { action: 'opened', event: 'pull_request' }, skip: { condition: 'event', reason: "event 'push' does not match include [pull_request]" } },
    { name: 'all matching', when: { branch: 'main', event: ['push', 'pull_request'], ref: 'refs/heads/*', repo: 'octocat/*', instance: 'ci.*', status: ['success', 'failure'] } },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

describe('conditions: paths', () => {
  const cases: Case[] = [
    { name: 'unknown changed files: paths matches, as in Drone', when: { paths: '**/*.go' } },
    { name: 'a Go file changed', when: { paths: '**/*.go' }, facts: { changedFiles: ['README.md', 'cmd/server/main.go'] } },
    { name: '**/*.go matches a file at the root', when: { paths: '**/*.go' }, facts: { changedFiles: ['main.go'] } },
    { name: 'no Go file changed', when: { paths: ['**/*.go', 'go.mod'] }, facts: { changedFiles: ['README.md', 'docs/a.md'] }, skip: { condition: 'paths', reason: 'no changed file matches include [**/*.go, go.mod] (changed: README.md, docs/a.md)' } },
    { name: 'a directory prefix', when: { paths: { include: 'web/**' } }, facts: { changedFiles: ['web/src/app.ts'] } },
    { name: '* stays within a directory', when: { paths: '*.yml' }, facts: { changedFiles: ['config/app.yml'] }, skip: { condition: 'paths', reason: 'no changed file matches include [*.yml] (changed: config/app.yml)' } },
    { name: 'exclude only: some file outside it changed', when: { paths: { exclude: 'docs/**' } }, facts: { changedFiles: ['docs/a.md', 'src/a.ts'] } },
    { name: 'exclude only: every changed file excluded', when: { paths: { exclude: ['docs/**', '*.md'] } }, facts: { changedFiles: ['docs/a.md', 'README.md'] }, skip: { condition: 'paths', reason: 'every changed file matches exclude [docs/**, *.md] (changed: docs/a.md, README.md)' } },
    { name: 'include and exclude: an included file that is not excluded', when: { paths: { include: 'src/**', exclude: 'src/gen/**' } }, facts: { changedFiles: ['src/gen/a.ts', 'src/b.ts'] } },
    { name: 'include and exclude: only excluded ones', when: { paths: { include: 'src/**', exclude: 'src/gen/**' } }, facts: { changedFiles: ['src/gen/a.ts', 'README.md'] }, skip: { condition: 'paths', reason: 'no changed file matches include [src/**] without matching exclude [src/gen/**] (changed: src/gen/a.ts, README.md)' } },
    { name: 'no files changed (pathschanged skips)', when: { paths: '**/*.go' }, facts: { changedFiles: [] }, skip: { condition: 'paths', reason: 'no files changed, so none matches include [**/*.go]' } },
    { name: 'no files changed, exclude only', when: { paths: { exclude: 'docs/**' } }, facts: { changedFiles: [] }, skip: { condition: 'paths', reason: 'no files changed' } },
    { name: 'an empty paths condition matches', when: { paths: {} }, facts: { changedFiles: [] } },
    { name: 'a long list is shortened in the reason', when: { paths: 'src/**' }, facts: { changedFiles: ['a', 'b', 'c', 'd', 'e'] }, skip: { condition: 'paths', reason: 'no changed file matches include [src/**] (changed: a, b, c, and 2 more)' } },
    { name: 'paths is checked after the other conditions', when: { paths: 'src/**', branch: 'dev' }, facts: { changedFiles: ['README.md'] }, skip: { condition: 'branch', reason: "branch 'main' does not match include [dev]" } },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

describe('conditions: the doublestar glob', () => {
  const cases: [string, string, boolean][] = [
    ['foo/**', 'foo/bar/baz/qux', true],
    ['foo/**/qux', 'foo/bar/baz/qux', true],
    ['foo/**/qux', 'foo/qux', true],
    ['foo/**', 'foo', false],
    ['**', 'anything/at/all', true],
    ['*', '', true],
    ['?', '', false],
    ['a?c', 'abc', true],
    ['[^a]bc', 'abc', false],
    ['[^a]bc', 'xbc', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['{a,b\\,c}', 'b,c', true],
    ['x{', 'x{', false],
    ['[]', 'x', false],
    ['ä*', 'äöü', true],
    ['*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(200), false],
    ['**/**/**/**/**/**/x', Array(40).fill('d').join('/'), false],
  ];
  for (const [pattern, name, want] of cases) {
    it(`${pattern} ${want ? 'matches' : 'does not match'} ${JSON.stringify(name.length > 30 ? name.slice(0, 30) + '…' : name)}`, () => {
      assert.equal(globMatch(pattern, name), want);
    });
  }
});

describe('conditions: factsFrom', () => {
  const base: CompileContextInput = {
    trigger: { event: 'push', ref: 'refs/heads/main', branch: 'main', commit: 'abc' },
    repo: { owner: 'octocat', name: 'hello-world', slug: 'octocat/hello-world' },
    build: { number: 1, createdAt: '2024-05-01T12:00:00Z' },
    system: { host: 'ci.example.com', proto: 'https', version: '1.0.0' },
  };
  it('takes repo from the slug and instance from the system host', () => {
    const facts = factsFrom(CompileContext.parse(base));
    assert.deepEqual(facts, { ...push });
  });
  it('uses the target branch of a pull request, as Drone matches build.Target', () => {
    const facts = factsFrom(
      CompileContext.parse({
        ...base,
        trigger: { event: 'pull_request', action: 'opened', ref: 'refs/pull/7/head', branch: 'feature/x', sourceBranch: 'feature/x', targetBranch: 'main', commit: 'abc', pullRequest: 7, changedFiles: ['a.go'] },
      }),
    );
    assert.equal(facts.branch, 'main');
    assert.equal(facts.action, 'opened');
    assert.deepEqual(facts.changedFiles, ['a.go']);
  });
  it('carries deploy target and cron name', () => {
    const promote = factsFrom(CompileContext.parse({ ...base, trigger: { event: 'promote', ref: 'refs/heads/main', branch: 'main', commit: 'abc', deployTo: 'production' } }));
    assert.equal(promote.target, 'production');
    const cron = factsFrom(CompileContext.parse({ ...base, trigger: { event: 'cron', ref: 'refs/heads/main', branch: 'main', commit: 'abc', cron: 'nightly' } }));
    assert.equal(cron.cron, 'nightly');
    assert.equal('changedFiles' in cron, false);
  });
});

describe('conditions: runsOn (Drone status rule)', () => {
  const cases: { name: string; status: unknown; fallback?: ('success' | 'failure')[]; want: ('success' | 'failure')[] }[] = [
    { name: 'no status: the fallback (success for steps)', status: undefined, want: ['success'] },
    { name: 'no status: a pipeline fallback', status: undefined, fallback: ['success'], want: ['success'] },
    { name: 'empty status: the fallback', status: {}, want: ['success'] },
    { name: '[success]', status: ['success'], want: ['success'] },
    { name: 'failure runs only after a failure', status: 'failure', want: ['failure'] },
    { name: '[success, failure] always runs', status: ['success', 'failure'], want: ['success', 'failure'] },
    { name: '[failure, success] always runs', status: ['failure', 'success'], want: ['success', 'failure'] },
    { name: 'exclude success: on failure', status: { exclude: 'success' }, want: ['failure'] },
    { name: 'exclude failure: on success', status: { exclude: 'failure' }, want: ['success'] },
    { name: 'a glob that matches both: always', status: '*', want: ['success', 'failure'] },
    { name: 'excluding both: the fallback, as Drone keeps its default', status: { exclude: ['success', 'failure'] }, want: ['success'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const status = c.status === undefined ? undefined : Condition.parse(c.status);
      assert.deepEqual(runsOn(status, c.fallback ?? ['success']), c.want);
    });
  }
  it('exports the values a status may name', () => {
    assert.deepEqual([...STATUS_VALUES], ['success', 'failure']);
  });
});
