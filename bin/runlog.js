#!/usr/bin/env node
// Node runs the bundle bin/node-bundle.js builds from the TypeScript sources (once, on the
// first start after they changed); without one (RUNLOG_NO_BUNDLE=1, or it cannot be built)
// it runs them through tsx. Bun and Deno run src/cli/main.ts directly.
import { pathToFileURL } from 'node:url';
import { buildBundle, freshBundle } from './node-bundle.js';

// The long-running commands, whose idle memory is budgeted (issue 5: server ≤ 120 MB, runner
// ≤ 64 MB), skip source maps: Node would keep every loaded package's map in memory, about
// 10 MB for a server. Their stack frames name the bundle's chunks (function names kept);
// NODE_OPTIONS=--enable-source-maps maps them to src/ as every other command does.
const LONG_RUNNING = new Set(['serve', 'server', 'runner']);

const entry = process.env.RUNLOG_NO_BUNDLE ? undefined : (freshBundle() ?? buildBundle());
if (entry) {
  if (!LONG_RUNNING.has(process.argv[2] ?? '')) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
