import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cloneRepository } from '../../src/runner/clone.ts';
import { bareRepository, collector, never } from './engine.contract.ts';

describe('clone with the host git', () => {
  let repo: ReturnType<typeof bareRepository>;
  let dirs: string[] = [];
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), 'runlog-clone-test-'));
    dirs.push(made);
    return made;
  };
  before(() => {
    repo = bareRepository();
  });
  after(() => {
    repo.cleanup();
    for (const made of dirs) rmSync(made, { recursive: true, force: true });
    dirs = [];
  });

  it('retries a failing fetch as often as the pipeline says, then reports the failure', async () => {
    const out = collector();
    const exit = await cloneRepository({
      source: { url: `${repo.url}-missing`, commit: repo.first, ref: 'refs/heads/main', depth: 0 },
      settings: { retries: 2, skipVerify: false, tags: false },
      dir: dir(),
      output: out.output,
      signal: never,
      retryDelayMs: 10,
    });
    assert.notEqual(exit.exitCode, 0);
    assert.match(out.text(), /retrying, attempt 2 of 3[\s\S]*retrying, attempt 3 of 3/);
    assert.equal(out.text().match(/\+ git fetch/g)?.length, 3);
  });

  it('checks out the tip of the ref on its branch when no commit is given', async () => {
    const target = dir();
    const exit = await cloneRepository({
      source: { url: repo.url, commit: '', ref: 'refs/heads/main', depth: 0 },
      settings: { retries: 0, skipVerify: false, tags: true },
      dir: target,
      output: () => {},
      signal: never,
    });
    assert.equal(exit.exitCode, 0);
    assert.equal(readFileSync(join(target, 'a.txt'), 'utf8'), 'two\n');
    assert.match(readFileSync(join(target, '.git', 'HEAD'), 'utf8'), /ref: refs\/heads\/main/);
  });

  it('stops when its signal aborts', async () => {
    const exit = await cloneRepository({
      source: { url: repo.url, commit: repo.first, ref: 'refs/heads/main', depth: 0 },
      settings: { retries: 0, skipVerify: false, tags: false },
      dir: dir(),
      output: () => {},
      signal: AbortSignal.abort(),
    });
    assert.equal(exit.killed, true);
  });

  it('says clearly when the host has no git', async () => {
    await assert.rejects(
      cloneRepository({
        source: { url: repo.url, commit: repo.first, ref: 'refs/heads/main', depth: 0 },
        settings: { retries: 0, skipVerify: false, tags: false },
        dir: dir(),
        output: () => {},
        signal: never,
        git: '/nonexistent/git',
      }),
      /the clone step runs git on the runner's host, and \/nonexistent\/git was not found on PATH: install git on the runner, or set clone: disable: true/,
    );
  });
});
