import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { openPglite } from '../src/events/database.ts';
import { startServer } from '../src/server/runtime.ts';
import { bundleWeb } from '../src/web/bundle.ts';

/**
 * The web page's figures (issue 8): the bundle's size, and the time to first render of a
 * build page showing a 5,000-line log in Debian's chromium — next to the raw operation, the
 * same browser loading that log's JSON from the API, in the same run (median of 5 each).
 * Server: PGlite in memory, built-in runner on the exec engine.
 */
const LINES = 5000;
const ROUNDS = 5;
const ADMIN = 'web-bench-admin-token';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(): Promise<void> {
  const bundle = await bundleWeb();
  const kib = (text: string) => (Buffer.byteLength(text) / 1024).toFixed(1);
  console.log(`bundle: script ${kib(bundle.js)} KiB (${(gzipSync(bundle.js).length / 1024).toFixed(1)} KiB gzip), stylesheet ${kib(bundle.css)} KiB (${(gzipSync(bundle.css).length / 1024).toFixed(1)} KiB gzip)`);

  const server = await startServer({ database: await openPglite(), adminToken: ADMIN, port: 0, hostname: '127.0.0.1', embeddedRunner: { engine: 'exec', capacity: 1 }, log: () => {} });
  const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
  try {
    await fetch(`${server.url}/api/repos/bench/web`, { method: 'POST', headers, body: JSON.stringify({ visibility: 'public' }) });
    const config = `kind: pipeline\ntype: exec\nname: log\nclone:\n  disable: true\nsteps:\n- name: print\n  commands:\n  - seq 1 ${LINES - 1} | sed 's/^/\\x1b[32mline\\x1b[0m compiling module /'\n`;
    await fetch(`${server.url}/api/repos/bench/web/builds`, { method: 'POST', headers, body: JSON.stringify({ config }) });
    for (let tries = 0; ; tries++) {
      const build = (await (await fetch(`${server.url}/api/repos/bench/web/builds/1`, { headers })).json()) as { status: string };
      if (build.status === 'success') break;
      if (tries > 600 || ['failure', 'error', 'killed'].includes(build.status)) throw new Error(`the bench build ended ${build.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const page = await browser.newPage();
    await page.goto(`${server.url}/`); // warms the bundle once; both sides then load from a warm server
    const pageMs: number[] = [];
    const rawMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const raw = await browser.newPage();
      let started = performance.now();
      await raw.goto(`${server.url}/api/repos/bench/web/builds/1/logs/1/1`);
      await raw.waitForFunction((count) => JSON.parse(document.body.innerText).length === count, LINES);
      rawMs.push(performance.now() - started);
      await raw.close();

      const fresh = await browser.newPage();
      started = performance.now();
      await fresh.goto(`${server.url}/bench/web/1/1/1`);
      await fresh.locator(`#L${LINES}`).waitFor({ timeout: 60_000 });
      pageMs.push(performance.now() - started);
      await fresh.close();
    }
    const pageMedian = median(pageMs);
    const rawMedian = median(rawMs);
    console.log(`first render of a build page with a ${LINES}-line log: ${pageMedian.toFixed(0)} ms (median of ${ROUNDS})`);
    console.log(`raw: the same browser loading that log's JSON:       ${rawMedian.toFixed(0)} ms`);
    console.log(`ratio page/raw: ${(pageMedian / rawMedian).toFixed(2)}`);
  } finally {
    await browser.close();
    await server.close();
  }
}
