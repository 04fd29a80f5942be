// What a long-running command loads before it does anything: the static imports reachable
// from its module (lazy `await import()`s excluded), read from esbuild's metafile. Idle memory
// is budgeted (issue 5: server ≤ 120 MB, runner ≤ 64 MB; measured in
// bench/dispatch-runners.bench.ts), and one static import of a server-only package into the
// runner's graph spends most of it — this names the import chain that does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { REPO_ROOT } from '../support/serve-process.ts';

/** Package → the chain of src/ files that imports it statically, for every package `entry` loads at start. */
async function staticPackages(entry: string): Promise<Map<string, string[]>> {
  const result = await build({ absWorkingDir: REPO_ROOT, entryPoints: [entry], bundle: true, packages: 'external', platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', outdir: 'out' });
  const inputs = result.metafile.inputs;
  const packages = new Map<string, string[]>();
  const chains = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const imported of inputs[file]?.imports ?? []) {
      if (imported.kind !== 'import-statement') continue;
      if (imported.external) {
        if (imported.path.startsWith('node:')) continue;
        const name = /^(@[^/]+\/[^/]+|[^/]+)/.exec(imported.path)![1]!;
        if (!packages.has(name)) packages.set(name, chains.get(file)!);
      } else if (!chains.has(imported.path)) {
        chains.set(imported.path, [...chains.get(file)!, imported.path]);
        queue.push(imported.path);
      }
    }
  }
  return packages;
}

function assertNone(packages: Map<string, string[]>, forbidden: string[]) {
  const found = forbidden.filter((name) => packages.has(name)).map((name) => `${name} via ${packages.get(name)!.join(' → ')}`);
  assert.deepEqual(found, [], `loaded at start although it is not used there:\n${found.join('\n')}`);
}

describe('idle imports of the long-running commands', () => {
  it('runlog runner loads no server, database, web, Docker or mail package before it needs one', async () => {
    const packages = await staticPackages('src/cli/runner.ts');
    assertNone(packages, ['hono', '@hono/node-server', 'drizzle-orm', 'postgres', '@electric-sql/pglite', 'esbuild', 'dockerode', 'nodemailer', 'pino', 'yaml', 'preact']);
    // What it does need, so the check above cannot pass on an empty graph.
    assert.ok(packages.has('@nats-io/jetstream') && packages.has('zod'), [...packages.keys()].join(', '));
  });

  it('runlog server (Postgres) loads neither PGlite, esbuild (the web page is bundled on first request), Docker nor nodemailer', async () => {
    const packages = await staticPackages('src/cli/server.ts');
    assertNone(packages, ['@electric-sql/pglite', 'esbuild', 'dockerode', 'nodemailer']);
    assert.ok(packages.has('hono') && packages.has('postgres'), [...packages.keys()].join(', '));
  });
});
