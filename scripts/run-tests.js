#!/usr/bin/env node
// Runs the test files of the given tiers (unit, int, e2e; default all) with Node's test
// runner under tsx, and ends with one "N passed, N failed" line for CI.
//   node scripts/run-tests.js [unit|int|e2e ...] [--filter <substring>]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const filterAt = args.indexOf('--filter');
const filter = filterAt >= 0 ? args.splice(filterAt, 2)[1] : undefined;
const tiers = args.length > 0 ? args : ['unit', 'int', 'e2e'];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const files = walk('test')
  .filter((f) => tiers.some((tier) => f.endsWith(`.${tier}.test.ts`)))
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no test files for ${tiers.join(', ')}${filter ? ` matching ${filter}` : ''}`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
// The runner's totals (`ℹ pass 1220`) come before its list of failures, which can be long:
// they are picked out of the stream line by line, the last of each kind kept.
const totals = {};
let partial = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    const total = /^ℹ (pass|fail|cancelled) (\d+)$/.exec(line);
    if (total) totals[total[1]] = Number(total[2]);
  }
});
child.on('close', (code) => {
  const count = (label) => totals[label] ?? 0;
  // A test cancelled (a hang, an event loop that emptied under a pending promise) failed too.
  console.log(`${count('pass')} passed, ${count('fail') + count('cancelled')} failed`);
  process.exit(code ?? 1);
});
