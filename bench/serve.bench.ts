/**
 * Cold start of `runlog serve` to a 200 on /healthz: on a fresh folder (PGlite creates its
 * database and runs the migrations) and on an existing one, next to a bare `node -e` that
 * starts a process and answers HTTP (the floor any Node server pays).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe } from '../test/support/serve-process.ts';

async function timeServe(folder: string): Promise<number> {
  const started = performance.now();
  const server = await startServe({ cwd: folder, env: { RUNLOG_ADMIN_TOKEN: 'bench', RUNLOG_ENGINE: 'none' } });
  while ((await fetch(`${server.url}/healthz`).catch(() => undefined))?.status !== 200) await new Promise((r) => setTimeout(r, 10));
  const elapsed = performance.now() - started;
  await server.stop('SIGTERM');
  return elapsed;
}

async function timeBareNode(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>s.end('ok')).listen(0,function(){console.log(this.address().port)})"], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  await fetch(`http://127.0.0.1:${port}/`);
  const elapsed = performance.now() - started;
  child.kill();
  return elapsed;
}

export async function run(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'runlog-bench-serve-'));
  try {
    const bare = await timeBareNode();
    const fresh = await timeServe(folder);
    const existing = [await timeServe(folder), await timeServe(folder)];
    const best = Math.min(...existing);
    console.log(`  bare node HTTP server to first answer        ${bare.toFixed(0).padStart(6)} ms`);
    console.log(`  runlog serve, fresh folder → 200 /healthz    ${fresh.toFixed(0).padStart(6)} ms  (${(fresh / bare).toFixed(1)}× bare)`);
    console.log(`  runlog serve, existing folder → 200 /healthz ${best.toFixed(0).padStart(6)} ms  (${(best / bare).toFixed(1)}× bare)`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
