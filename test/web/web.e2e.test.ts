// The web page in a real browser (Debian's chromium driven by playwright-core) against a real
// server: Postgres, the built-in runner on the exec engine. One walk through what a user
// does — activate a repo, run a build and watch it live, read a streaming log, cancel,
// approve, replay the timeline — asserting what the page shows at each point. Screenshots
// of each page are saved in .runlog-test/artifacts/web/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openPostgres } from '../../src/events/database.ts';
import { newSecretKeyText, parseSecretKey } from '../../src/secrets/sealed-value.ts';
import { startServer, type RunningServer } from '../../src/server/runtime.ts';
import { dropDatabase, freshDatabaseUrl } from '../support/postgres.ts';

const ADMIN = 'web-e2e-admin-token';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.env.RUNLOG_TEST_HOME ?? '.runlog-test', 'artifacts', 'web');
const WAIT = { timeout: 30_000 };

// Three steps in two pipelines; `slow` prints a line a second so its log streams while we watch.
const PIPELINE = `kind: pipeline
type: exec
name: build
clone:
  disable: true
steps:
- name: greet
  commands:
  - printf '\\033[32mready\\033[0m\\n'
- name: slow
  depends_on: [greet]
  commands:
  - for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 1; done
---
kind: pipeline
type: exec
name: ship
clone:
  disable: true
depends_on: [build]
steps:
- name: ship
  commands:
  - echo shipped
`;

const SLEEPER = `kind: pipeline
type: exec
name: wait
clone:
  disable: true
steps:
- name: sleep
  commands:
  - sleep 120
`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

describe('the web page', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}: scripts/services.sh installs it` }, () => {
  let url: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    url = await freshDatabaseUrl('runlog_web_e2e');
    server = await startServer({
      database: await openPostgres(url),
      adminToken: ADMIN,
      port: 0,
      hostname: '127.0.0.1',
      embeddedRunner: { engine: 'exec', capacity: 2 },
      secretKey: parseSecretKey(newSecretKeyText()),
      log: () => {},
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (url) await dropDatabase(url);
  });

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const step = (name: string) => page.locator(`li.step[data-step="${name}"]`);

  it('logs in with a token, activates a repo, and runs a build that turns green live', async () => {
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Token').fill(ADMIN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Repositories', exact: true }).waitFor(WAIT);

    await page.getByLabel('Repository (owner/name)').fill('acme/web');
    await page.getByLabel('Default branch').fill('main');
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor(WAIT);
    assert.equal(new URL(page.url()).pathname, '/acme/web/settings');
    assert.equal(await page.getByLabel('URL').inputValue(), `${server.url}/hook`);
    // A secret is listed by name; its value never comes back to the page.
    await page.getByLabel('Name', { exact: true }).first().fill('deploy_key');
    await page.getByLabel('Value').fill('s3cr3t-value-never-shown');
    await page.getByRole('button', { name: 'Add secret' }).click();
    await page.getByRole('list', { name: 'secrets' }).getByText('deploy_key').waitFor(WAIT);
    assert.doesNotMatch(await page.content(), /s3cr3t-value-never-shown/);
    await page.locator('#cron-name').fill('nightly');
    await page.getByLabel('Schedule').fill('@daily');
    await page.getByRole('button', { name: 'Add cron job' }).click();
    await page.getByRole('list', { name: 'cron jobs' }).getByText('nightly').waitFor(WAIT);
    await page.getByRole('button', { name: 'remove cron job nightly' }).click();
    await page.getByRole('list', { name: 'cron jobs' }).getByText('none').waitFor(WAIT);

    await page.goto(`${server.url}/acme/web`);
    await page.getByText('New build').click();
    await page.getByLabel(/Pipeline/).fill(PIPELINE);
    await page.getByRole('button', { name: 'Run build' }).click();
    await page.waitForURL(/\/acme\/web\/1$/, WAIT);

    // Live: `slow` is seen running before it ends, then every step ends green without a reload.
    await step('slow').and(page.locator('[data-status="running"]')).waitFor(WAIT);
    await step('slow').getByRole('link').click();
    await page.waitForURL(/\/acme\/web\/1\/1\/2$/, WAIT);
    const log = page.getByRole('log');
    await log.getByText('tick 2').waitFor(WAIT);
    assert.equal(await log.getByText('tick 6').count(), 0, 'the log is open while the step still streams');
    await shot('build-with-log');
    await log.getByText('tick 6').waitFor(WAIT);
    for (const name of ['greet', 'slow', 'ship']) await step(name).and(page.locator('[data-status="success"]')).waitFor(WAIT);
    await page.locator('.build-head .status-success').waitFor(WAIT);
    // Numbered lines that can be linked, one per output line.
    // The exec engine traces the command first (`+ for ...`), then six ticks.
    assert.equal(await page.locator('.log-line').count(), 7);
    assert.match(await page.locator('#L1 .line-text').innerText(), /^\+ for i in/);
    assert.equal(await page.locator('#L7 .line-number').innerText(), '7');
    assert.equal(await page.locator('#L7 .line-text').innerText(), 'tick 6');
    // ANSI colours become styles, never raw escape codes.
    await page.goto(`${server.url}/acme/web/1/1/1`);
    await page.locator('.log-line .fg-green', { hasText: /^ready$/ }).first().waitFor(WAIT);
    assert.doesNotMatch(await page.getByRole('log').innerText(), /\x1b|\[32m/);
  });

  it('lists the builds of the repo', async () => {
    await page.goto(`${server.url}/acme/web`);
    const row = page.locator('tr[data-status="success"]');
    await row.waitFor(WAIT);
    assert.match(await row.innerText(), /#1/);
    await shot('build-list');
  });

  it('cancels a running build', async () => {
    await page.goto(`${server.url}/acme/web`);
    await page.getByText('New build').click();
    await page.getByLabel(/Pipeline/).fill(SLEEPER);
    await page.getByRole('button', { name: 'Run build' }).click();
    await page.waitForURL(/\/acme\/web\/2$/, WAIT);
    await step('sleep').and(page.locator('[data-status="running"]')).waitFor(WAIT);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.build-head .status-killed').waitFor(WAIT);
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0);
  });

  it('approves a blocked build of a protected repo', async () => {
    await page.goto(`${server.url}/acme/web/settings`);
    await page.getByLabel('Protected').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor(WAIT);
    await page.goto(`${server.url}/acme/web`);
    await page.getByText('New build').click();
    await page.getByLabel(/Pipeline/).fill(PIPELINE.replace('for i in 1 2 3 4 5 6', 'for i in 1'));
    await page.getByRole('button', { name: 'Run build' }).click();
    await page.waitForURL(/\/acme\/web\/3$/, WAIT);
    await page.locator('.build-head .status-blocked').waitFor(WAIT);
    assert.equal(await step('greet').getAttribute('data-status'), 'pending', 'nothing runs before approval');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('.build-head .status-success').waitFor(WAIT);
  });

  it('replays build 1 on the timeline to the moment its first stage was claimed', async () => {
    await page.goto(`${server.url}/acme/web/1#timeline`);
    const slider = page.getByLabel('Replay to');
    await slider.waitFor(WAIT);
    await shot('timeline');
    const types = await page.locator('ol.events li').evaluateAll((items) => items.map((item) => item.getAttribute('data-type')));
    const claimed = types.indexOf('StageClaimed');
    assert.ok(claimed > 0, `a StageClaimed event is on the timeline: ${types.join(', ')}`);
    // Drag back with the keyboard, as a user of the slider would: Home, then right to the claim.
    await slider.focus();
    await page.keyboard.press('Home');
    for (let index = 0; index < claimed; index++) await page.keyboard.press('ArrowRight');
    await page.getByText(`As it was after event ${claimed + 1} of ${types.length}`).waitFor(WAIT);
    // Then: the first stage was held by the embedded runner, and nothing had run yet.
    const build = page.locator('.replay section[data-stage="build"]');
    await build.locator('.stage-head', { hasText: 'on embedded' }).waitFor(WAIT);
    for (const name of ['greet', 'slow']) assert.equal(await page.locator(`.replay li.step[data-step="${name}"]`).getAttribute('data-status'), 'pending');
    const ship = await page.locator('.replay section[data-stage="ship"] .stage-head .status').getAttribute('class');
    assert.match(ship ?? '', /status-(pending|waiting)\b/, 'the dependent pipeline had not started');
    await shot('timeline-replayed');
  });

  it('shows the queue with what a waiting stage needs, and the runners', async () => {
    await page.goto(`${server.url}/acme/web/settings`);
    await page.getByLabel('Protected').uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor(WAIT);
    await page.goto(`${server.url}/acme/web`);
    await page.getByText('New build').click();
    await page.getByLabel(/Pipeline/).fill(SLEEPER.replace('name: wait\n', 'name: wait\nnode:\n  zone: mars\n'));
    await page.getByRole('button', { name: 'Run build' }).click();
    await page.waitForURL(/\/acme\/web\/4$/, WAIT);
    await page.getByRole('link', { name: 'Queue' }).click();
    const waiting = page.locator('tr', { hasText: 'acme/web#4' });
    await waiting.waitFor(WAIT);
    assert.match(await waiting.innerText(), /zone=mars/);
    const runner = page.locator('tr', { hasText: 'embedded' });
    await runner.waitFor(WAIT);
    assert.match(await runner.innerText(), /linux\//);
    await shot('queue');
  });

  it('switches to the dark theme and keeps it', async () => {
    const before = await page.evaluate(() => document.documentElement.dataset.theme);
    await page.getByRole('button', { name: /switch to (dark|light) theme/ }).click();
    // Preact applies the theme on its next render, not inside the click: wait for it.
    await page.waitForFunction((previous) => document.documentElement.dataset.theme !== previous, before, WAIT);
    const after = await page.evaluate(() => document.documentElement.dataset.theme);
    assert.notEqual(after, before);
    await page.reload();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), after);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, after === 'dark' ? 'rgb(13, 17, 23)' : 'rgb(255, 255, 255)');
  });

  it('shows a repo list, works at a phone width, and raised no script error', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${server.url}/`);
    await page.getByRole('link', { name: /acme\/web/ }).waitFor(WAIT);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `no sideways scrolling at 390 px (overflow ${overflow}px)`);
    await shot('repos-phone');
    assert.deepEqual(pageErrors, []);
  });
});
