import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import { PlanStage, PlanStep } from '../../src/pipeline/plan.ts';
import type { Engine, StageRun, StepExit, StepRun } from '../../src/runner/engine.ts';

/**
 * The Engine contract, run against every adapter (docker, exec) with real services: what
 * the stage runner may rely on whichever engine runs the stage.
 */
export type ContractSubject = {
  name: string;
  /** Why the suite cannot run here (no daemon), if it cannot. */
  skip?: string;
  engine: () => Engine;
  /** The image steps name: the test image on docker, '' on exec. */
  image: string;
  /** What of this stage is still there after destroy ("kind name"); [] = nothing. */
  leftovers: (run: StageRun) => Promise<string[]>;
  /** A stage this engine refuses in setup (so that destroy after a failed setup can be shown). */
  refusedStage: (run: StageRun) => StageRun;
  /** How many of the suite's tests may run at once (each has its own stage); default 1. */
  concurrency?: number;
};

export const WORKSPACE = '/drone/src';

type StepInput = Partial<z.input<typeof PlanStep>> & { name: string };

/** A plan step with the schema's defaults; numbers follow the order given. */
export function planStep(input: StepInput, number = 1): PlanStep {
  return PlanStep.parse({ number, kind: 'step', image: '', pull: 'never', ...input });
}

/** A stage run of `steps` (each a step input, numbered in order after the services). */
export function stageRun(
  steps: StepInput[],
  options: { image?: string; services?: StepInput[]; volumes?: z.input<typeof PlanStage>['volumes']; trusted?: boolean; type?: 'docker' | 'exec' } = {},
): StageRun {
  const image = options.image ?? '';
  const services = (options.services ?? []).map((service, index) => planStep({ image, kind: 'service', ...service }, index + 1));
  const first = services.length + 1;
  const stage = PlanStage.parse({
    number: 1,
    name: 'test',
    type: options.type ?? (image ? 'docker' : 'exec'),
    platform: {},
    workspace: { path: WORKSPACE },
    clone: {},
    volumes: options.volumes ?? [],
    services,
    steps: steps.map((step, index) => planStep({ image, ...step }, first + index)),
  });
  return {
    buildId: randomUUID(),
    repo: 'octo/hello',
    buildNumber: 1,
    stage,
    runId: `t-${randomUUID().slice(0, 12)}`,
    trusted: options.trusted ?? false,
  };
}

export function stepOf(run: StageRun, name: string, env: Record<string, string> = {}): StepRun {
  const step = [...run.stage.services, ...run.stage.steps].find((candidate) => candidate.name === name);
  assert.ok(step, `no step ${name}`);
  return { step, env };
}

/** Collects a step's output; `waitFor` resolves when some text has appeared. */
export function collector() {
  const chunks: Uint8Array[] = [];
  const decoder = new TextDecoder();
  let text = '';
  const waiters: Array<{ needle: string; resolve: () => void }> = [];
  return {
    output: (chunk: Uint8Array) => {
      chunks.push(chunk);
      text += decoder.decode(chunk, { stream: true });
      for (const waiter of waiters.filter((w) => text.includes(w.needle))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    text: () => text,
    waitFor(needle: string, ms = 10_000): Promise<void> {
      if (text.includes(needle)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${needle}" in output within ${ms} ms; got: ${text}`)), ms);
        waiters.push({ needle, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

export const never = new AbortController().signal;

/** Runs the named steps one after the other, returning each exit and output. */
export async function runAll(engine: Engine, run: StageRun, names: string[], env: Record<string, string> = {}) {
  const results: Array<{ exit: StepExit; text: string }> = [];
  for (const name of names) {
    const out = collector();
    const exit = await engine.runStep(run, stepOf(run, name, env), out.output, never);
    results.push({ exit, text: out.text() });
  }
  return results;
}

/** A bare repository with two commits on main: a.txt "one", then a.txt "two" and b.txt. */
export function bareRepository(): { url: string; first: string; second: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-repo-'));
  const work = join(dir, 'work');
  const bare = join(dir, 'repo.git');
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
    })
      .toString()
      .trim();
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'a.txt'), 'one\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'first');
  const first = git(work, 'rev-parse', 'HEAD');
  writeFileSync(join(work, 'a.txt'), 'two\n');
  writeFileSync(join(work, 'b.txt'), 'bee\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'second');
  const second = git(work, 'rev-parse', 'HEAD');
  execFileSync('git', ['clone', '-q', '--bare', work, bare]);
  return { url: `file://${bare}`, first, second, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function engineContract(subject: ContractSubject): void {
  describe(`Engine contract: ${subject.name}`, { skip: subject.skip, concurrency: subject.concurrency ?? 1 }, () => {
    const { image } = subject;
    let engine: Engine;
    before(() => {
      engine = subject.engine();
    });

    /** Given a stage, when it is set up, `body` runs, and destroy always follows and leaves nothing. */
    async function withStage(run: StageRun, body: () => Promise<void>): Promise<void> {
      await engine.setup(run, never);
      try {
        await body();
      } finally {
        await engine.destroy(run);
      }
      assert.deepEqual(await subject.leftovers(run), [], 'destroy left resources behind');
    }

    it('streams a step\'s output in the order written, stdout and stderr interleaved', async () => {
      const run = stageRun(
        [{ name: 'talk', script: 'set -e\nfor i in $(seq 1 2000); do echo "out $i"; echo "err $i" >&2; done\nprintf "end without newline"' }],
        { image },
      );
      await withStage(run, async () => {
        const [result] = await runAll(engine, run, ['talk']);
        const expected = Array.from({ length: 2000 }, (_, i) => `out ${i + 1}\nerr ${i + 1}\n`).join('') + 'end without newline';
        assert.equal(result.text, expected);
        assert.deepEqual(result.exit, { exitCode: 0, killed: false });
      });
    });

    it('reports exit codes as results, not exceptions', async () => {
      const run = stageRun(
        [
          { name: 'ok', script: 'true' },
          { name: 'three', script: 'echo before\nexit 3' },
          { name: 'set-e', script: 'set -e\nfalse\necho unreachable' },
        ],
        { image },
      );
      await withStage(run, async () => {
        const [ok, three, setE] = await runAll(engine, run, ['ok', 'three', 'set-e']);
        assert.deepEqual(ok.exit, { exitCode: 0, killed: false });
        assert.deepEqual(three.exit, { exitCode: 3, killed: false });
        assert.equal(three.text, 'before\n');
        assert.equal(setE.exit.exitCode, 1);
        assert.equal(setE.text, '');
      });
    });

    it('gives a step the plan\'s environment with the runner\'s values (secrets) over it', async () => {
      const run = stageRun(
        [
          {
            name: 'env',
            environment: { PLAIN: { value: 'from plan' }, OVERRIDDEN: { value: 'plan' }, TOKEN: { secret: 'token' } },
            script: 'echo "$PLAIN|$OVERRIDDEN|$TOKEN|$WITH_SPACES"',
          },
        ],
        { image },
      );
      await withStage(run, async () => {
        const [result] = await runAll(engine, run, ['env'], { OVERRIDDEN: 'runner', TOKEN: 's3cr3t', WITH_SPACES: 'a b  c' });
        assert.equal(result.text, 'from plan|runner|s3cr3t|a b  c\n');
      });
    });

    it('shares the workspace between steps and starts each step in it (or in its working_dir)', async () => {
      const environment = { DRONE_WORKSPACE: { value: WORKSPACE } };
      const run = stageRun(
        [
          { name: 'write', environment, script: 'echo shared > file.txt\nmkdir -p sub' },
          { name: 'read', environment, script: 'cat file.txt\n[ "$(pwd)" = "$DRONE_WORKSPACE" ] && echo in-workspace' },
          { name: 'sub', environment, workingDir: 'sub', script: 'cat ../file.txt\n[ "$(pwd)" = "$DRONE_WORKSPACE/sub" ] && echo in-sub' },
        ],
        { image },
      );
      await withStage(run, async () => {
        const [write, read, sub] = await runAll(engine, run, ['write', 'read', 'sub']);
        assert.equal(write.exit.exitCode, 0, write.text);
        assert.equal(read.text, 'shared\nin-workspace\n');
        assert.equal(sub.text, 'shared\nin-sub\n');
      });
    });

    it('kills a long step quickly when its signal aborts, and says it was killed', async () => {
      const run = stageRun([{ name: 'long', script: 'echo started\nsleep 60\necho never' }], { image });
      await withStage(run, async () => {
        const controller = new AbortController();
        const out = collector();
        const running = engine.runStep(run, stepOf(run, 'long'), out.output, controller.signal);
        await out.waitFor('started');
        const abortedAt = Date.now();
        controller.abort();
        const exit = await running;
        assert.equal(exit.killed, true);
        assert.notEqual(exit.exitCode, 0);
        // the step would sleep a minute; a busy CI machine still ends it in a few seconds
        assert.ok(Date.now() - abortedAt < 5000, `took ${Date.now() - abortedAt} ms`);
        assert.ok(!out.text().includes('never'));
      });
    });

    it('runs nothing for a step whose signal already aborted', async () => {
      const run = stageRun([{ name: 'late', script: 'echo ran' }], { image });
      await withStage(run, async () => {
        const out = collector();
        const exit = await engine.runStep(run, stepOf(run, 'late'), out.output, AbortSignal.abort());
        assert.equal(exit.killed, true);
        assert.equal(out.text(), '');
      });
    });

    it('leaves a detached step running while the next step runs, and destroy ends it', async () => {
      const run = stageRun(
        [
          // written aside then renamed, so the reader never sees a file truncated for rewriting
          { name: 'background', detach: true, script: 'echo up\nwhile true; do echo tick > t.tmp; mv t.tmp ticks.txt; sleep 0.1; done' },
          { name: 'next', script: 'for i in $(seq 1 150); do [ -f ticks.txt ] && break; sleep 0.1; done\ncat ticks.txt' },
        ],
        { image },
      );
      await engine.setup(run, never);
      let ended: Promise<StepExit> | undefined;
      try {
        const out = collector();
        const started = await engine.runStep(run, stepOf(run, 'background'), out.output, never);
        assert.deepEqual({ exitCode: started.exitCode, killed: started.killed }, { exitCode: 0, killed: false });
        assert.ok(started.ended, 'a detached step resolves with `ended`');
        ended = started.ended;
        const [next] = await runAll(engine, run, ['next']);
        assert.equal(next.text, 'tick\n');
        await out.waitFor('up');
      } finally {
        await engine.destroy(run);
      }
      const end = await ended!;
      assert.equal(end.killed, true);
      assert.deepEqual(await subject.leftovers(run), []);
    });

    it('destroy is safe after a refused setup, without any setup, and twice', async () => {
      const refused = subject.refusedStage(stageRun([{ name: 'x', script: 'true' }], { image }));
      await assert.rejects(engine.setup(refused, never));
      await engine.destroy(refused);
      assert.deepEqual(await subject.leftovers(refused), []);

      const never_set_up = stageRun([{ name: 'x', script: 'true' }], { image });
      await engine.destroy(never_set_up);
      await engine.destroy(never_set_up);
      assert.deepEqual(await subject.leftovers(never_set_up), []);
    });

    describe('clone', { concurrency: subject.concurrency ?? 1 }, () => {
      let repo: ReturnType<typeof bareRepository>;
      before(() => {
        repo = bareRepository();
      });
      after(() => repo.cleanup());

      // the clone step's image is never used: the runner clones with its own git, so no git image is needed
      const cloneStep = { name: 'clone', kind: 'clone' as const, image: image ? 'drone/git:never-pulled' : '' };

      it('fetches the build\'s commit into the workspace, for the steps after it', async () => {
        const run = stageRun([cloneStep, { name: 'look', script: 'cat a.txt\n[ -e b.txt ] || echo no-b\n[ -d .git ] && echo has-git' }], { image });
        run.clone = { url: repo.url, commit: repo.first, ref: 'refs/heads/main', depth: 0 };
        await withStage(run, async () => {
          const [clone, look] = await runAll(engine, run, ['clone', 'look']);
          assert.deepEqual(clone.exit, { exitCode: 0, killed: false }, clone.text);
          assert.match(clone.text, /\+ git fetch/);
          assert.equal(look.text, 'one\nno-b\nhas-git\n');
        });
      });

      it('honours depth, and fetches a commit the shallow ref does not reach', async () => {
        const run = stageRun([cloneStep, { name: 'look', script: 'cat a.txt\n[ -f .git/shallow ] && echo shallow' }], { image });
        run.clone = { url: repo.url, commit: repo.first, ref: 'refs/heads/main', depth: 1 };
        await withStage(run, async () => {
          const [clone, look] = await runAll(engine, run, ['clone', 'look']);
          assert.equal(clone.exit.exitCode, 0, clone.text);
          assert.match(clone.text, /fetching it alone/);
          assert.equal(look.text, 'one\nshallow\n');
        });
      });

      it('reports a clone that cannot fetch as a failed step', async () => {
        const run = stageRun([cloneStep], { image });
        run.clone = { url: `${repo.url}-missing`, commit: repo.first, ref: 'refs/heads/main', depth: 0 };
        await withStage(run, async () => {
          const [clone] = await runAll(engine, run, ['clone']);
          assert.notEqual(clone.exit.exitCode, 0);
          assert.equal(clone.exit.killed, false);
        });
      });
    });
  });
}
