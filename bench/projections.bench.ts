/**
 * Rebuilding every projection from the log, next to a raw cursor read of the same events
 * table with the same driver, in the same run, on real Postgres. The rebuild reads the same
 * rows (commit-safe keyset batches), validates and folds each build's events with the
 * decider's evolve, runs the reducers, folds the row operations per row and writes them with
 * multi-row statements, then swaps the tables in; the figure is rebuild/raw (goal ≥ 0.35).
 *
 * The log: realistic builds made by the compiler and the decider (two pipelines, a service,
 * six steps; 70% pass, 20% fail and skip their dependent, 10% are cancelled), 100 builds
 * running at a time so their events interleave, bulk-loaded with COPY.
 * Size: 1,000,000 events; `--events=N` or BENCH_EVENTS=N to scale down.
 * Seen on a busy 2-core VM at 1,000,000 events: raw 17,181 events/s, rebuild 7,959 events/s
 * (125.6 s), ratio 0.46.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql as drizzleSql } from 'drizzle-orm';
import postgres from 'postgres';
import { BuildCommand, type BuildCommandInput } from '../src/events/build-commands.ts';
import { decide } from '../src/events/build-decider.ts';
import type { BuildEvent } from '../src/events/build-events.ts';
import { evolve, initialState, type BuildState } from '../src/events/build-state.ts';
import { openPostgres } from '../src/events/database.ts';
import { createEventStore } from '../src/events/sql-event-store.ts';
import { compile } from '../src/pipeline/compile.ts';
import { projections } from '../src/projections/index.ts';
import { rebuildProjections } from '../src/projections/rebuild.ts';
import { dropDatabase, freshDatabaseUrl } from '../test/support/postgres.ts';

const CONCURRENT_BUILDS = 100;
const REPOS = 20;
const GOAL = 0.35;

function eventCount(): number {
  const argv = process.argv;
  const at = argv.findIndex((arg) => arg === '--events' || arg.startsWith('--events='));
  const text = at < 0 ? process.env.BENCH_EVENTS : argv[at]!.includes('=') ? argv[at]!.split('=')[1] : argv[at + 1];
  const n = Number(text ?? 1_000_000);
  if (!Number.isSafeInteger(n) || n < 1000) throw new Error(`--events / BENCH_EVENTS must be a whole number >= 1000, got ${text}`);
  return n;
}

const CONFIG = `kind: pipeline
type: docker
name: build

services:
- name: database
  image: postgres:16
  environment:
    POSTGRES_PASSWORD: postgres

steps:
- name: deps
  image: node:20
  commands:
  - npm ci
- name: test
  image: node:20
  commands:
  - npm test
- name: lint
  image: node:20
  failure: ignore
  commands:
  - npm run lint
---
kind: pipeline
type: docker
name: deploy
depends_on:
- build
node:
  region: eu
steps:
- name: publish
  image: plugins/docker
  settings:
    repo: octocat/hello
    password:
      from_secret: docker_password
`;

type Outcome = 'success' | 'failure' | 'cancelled';

/** One build's events, command by command, from the real compiler and decider; ids are placeholders. */
function template(outcome: Outcome): BuildEvent[] {
  const compiled = compile(CONFIG, {
    trigger: { event: 'push', ref: 'refs/heads/main', branch: 'main', commit: '6f2a1c8e9b3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a', message: 'Update the readme', author: { login: 'octocat', name: 'The Octocat', email: 'octocat@example.test', avatar: '' } },
    repo: { owner: 'octocat', name: 'hello', slug: 'octocat/hello', trusted: true },
    build: { number: 1, createdAt: '2026-01-01T00:00:00.000Z' },
  });
  if (!compiled.plan) throw new Error(`the bench config does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  const plan = compiled.plan;
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
  const runner = { id: 'runner-1', name: 'runner-1' };
  const commands: BuildCommandInput[] = [
    {
      type: 'CreateBuild',
      data: {
        buildId: '00000000-0000-4000-8000-000000000000',
        repoId: '@REPO@',
        repo: 'octocat/@REPO@',
        number: 999_999_999,
        trigger: { event: 'push', ref: 'refs/heads/main', branch: 'main', commit: '6f2a1c8e9b3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a', message: 'Update the readme' },
        config: { path: '.drone.yml', sha256: 'a'.repeat(64), text: CONFIG },
        plan,
        createdBy: '@hook',
        at: at(0),
      },
    } as BuildCommandInput,
  ];
  let clock = 1;
  const lease = (stage: number) => `lease-${stage}`;
  const runStage = (stage: number, exitCodes: Record<number, number> = {}) => {
    const steps = [...plan.stages[stage - 1]!.services, ...plan.stages[stage - 1]!.steps];
    commands.push({ type: 'ClaimStage', data: { stage, attempt: 1, runner, leaseToken: lease(stage), at: at(clock++) } });
    commands.push({ type: 'StartStage', data: { stage, leaseToken: lease(stage), timeoutMinutes: 60, at: at(clock++) } });
    for (const step of steps) {
      if (outcome === 'cancelled' && stage === 1 && step.number === 3) {
        commands.push({ type: 'RequestCancel', data: { by: 'octocat', at: at(clock++) } });
        commands.push({ type: 'CancelStage', data: { stage, leaseToken: lease(stage), at: at(clock++) } });
        return;
      }
      commands.push({ type: 'StartStep', data: { stage, step: step.number, leaseToken: lease(stage), at: at(clock++) } });
      commands.push({
        type: 'FinishStep',
        data: { stage, step: step.number, leaseToken: lease(stage), exitCode: exitCodes[step.number] ?? 0, logSize: 4096, logSha256: 'c'.repeat(64), durationMs: 1500, at: at(clock++) },
      });
    }
    commands.push({ type: 'FinishStage', data: { stage, leaseToken: lease(stage), at: at(clock++) } });
  };
  runStage(1, outcome === 'failure' ? { 4: 1 } : {});
  if (outcome === 'success') runStage(2);

  let state: BuildState = initialState();
  const events: BuildEvent[] = [];
  for (const input of commands) {
    const decided = decide(BuildCommand.parse(input), state);
    for (const event of decided) state = evolve(state, event);
    events.push(...decided);
  }
  if (state.status === 'initial' || !state.finished) throw new Error(`the ${outcome} template did not finish`);
  return events;
}

/** COPY text-format lines for `count` events: builds of the templates, CONCURRENT_BUILDS at a time. */
function* copyLines(count: number): Generator<string> {
  const templates = (['success', 'failure', 'cancelled'] as const).map((outcome) =>
    template(outcome).map((event) => ({ type: event.type, data: JSON.stringify(event.data).replace(/\\/g, '\\\\') })),
  );
  const pick = (n: number) => templates[n % 10 < 7 ? 0 : n % 10 < 9 ? 1 : 2]!;
  const numbers = new Array<number>(REPOS).fill(0);
  let emitted = 0;
  let nextBuild = 0;
  // Running builds: their events and how far each got.
  const running: Array<{ id: string; events: Array<{ type: string; data: string }>; at: number }> = [];
  const start = () => {
    const n = nextBuild++;
    const repo = n % REPOS;
    const number = ++numbers[repo]!;
    const id = `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
    const events = pick(n).map((event, i) =>
      i === 0
        ? { type: event.type, data: event.data.replace('00000000-0000-4000-8000-000000000000', id).replaceAll('@REPO@', `repo-${repo}`).replace('999999999', String(number)) }
        : event,
    );
    running.push({ id, events, at: 0 });
  };
  const metadata = '{"actor":"system:bench"}';
  while (emitted < count) {
    while (running.length < CONCURRENT_BUILDS) start();
    // Each running build takes a step: a few events, as one command would append them.
    for (let i = 0; i < running.length && emitted < count; i++) {
      const build = running[i]!;
      const take = 1 + ((build.at + i) % 3);
      for (let k = 0; k < take && build.at < build.events.length && emitted < count; k++) {
        const event = build.events[build.at++]!;
        yield `build-${build.id}\t${build.at}\t${event.type}\t${event.data}\t${metadata}\t${'0'.repeat(64)}\t${'f'.repeat(64)}\n`;
        emitted += 1;
      }
      if (build.at === build.events.length) running.splice(i--, 1);
    }
  }
}

/** Loads `count` events of decider-made builds into the empty, migrated database at `url` (for this and other benches). */
export async function load(url: string, count: number): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const copy = await sql`copy events (stream_id, stream_version, type, data, metadata, prev_hash, hash) from stdin`.writable();
    // Join lines into ~1 MB chunks: one write per line would dominate the load time.
    async function* chunks() {
      let chunk = '';
      for (const line of copyLines(count)) {
        chunk += line;
        if (chunk.length > 1 << 20) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
    await pipeline(Readable.from(chunks()), copy);
    await sql`vacuum analyze events`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A cursor over every row, 1000 at a time, with the same driver and the same settings the store's pool uses. */
async function rawRead(url: string): Promise<{ rows: number; seconds: number }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const started = performance.now();
    let rows = 0;
    const cursor = sql`select global_position, transaction_id::text, stream_id, stream_version, type, data, metadata, recorded_at, prev_hash, hash
                       from events order by transaction_id, global_position`.cursor(1000);
    for await (const batch of cursor) rows += batch.length;
    return { rows, seconds: (performance.now() - started) / 1000 };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);

export async function run(): Promise<void> {
  const url = process.env.RUNLOG_TEST_DATABASE_URL;
  if (!url) {
    console.log('  skipped: RUNLOG_TEST_DATABASE_URL is not set (scripts/services.sh start; source .runlog-test/env)');
    return;
  }
  const count = eventCount();
  const fresh = await freshDatabaseUrl('runlog_bench_projections');
  const database = await openPostgres(fresh);
  try {
    const loadStarted = performance.now();
    await load(fresh, count);
    console.log(`  loaded ${count.toLocaleString('en-US')} events with COPY in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`);
    await rawRead(fresh); // warm the cache, so both measured reads start from the same place

    const raw = await rawRead(fresh);
    if (raw.rows !== count) throw new Error(`raw read saw ${raw.rows} rows, expected ${count}`);
    const rebuilt = await rebuildProjections({ database, store: createEventStore(database), projections });
    if (rebuilt.events !== count) throw new Error(`rebuild saw ${rebuilt.events} events, expected ${count}`);
    const rawAgain = await rawRead(fresh);

    const rawRate = count / ((raw.seconds + rawAgain.seconds) / 2);
    const ratio = rebuilt.eventsPerSecond / rawRate;
    const [views] = await database.query<{ builds: string; stages: string; steps: string }>(
      drizzleSql`select (select count(*) from builds)::text as builds, (select count(*) from stages)::text as stages, (select count(*) from steps)::text as steps`,
    );
    console.log(`  raw cursor read (postgres driver, 1000 rows a fetch)  ${fmt(rawRate)} events/s`);
    console.log(`  rebuild of every projection (${projections.length})              ${fmt(rebuilt.eventsPerSecond)} events/s  (${(rebuilt.elapsedMs / 1000).toFixed(1)} s; ${views!.builds} builds, ${views!.stages} stages, ${views!.steps} steps)`);
    console.log(`  ratio rebuild/raw: ${ratio.toFixed(2)} (goal >= ${GOAL})`);
  } finally {
    await database.close();
    await dropDatabase(fresh);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
