// `runlog build ls|info|create|restart|cancel|approve|decline|promote|logs`, against a server's
// API, like `drone build ...` and `drone log view`.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../audit/build-ref.ts';
import { CLIENT_FLAGS_USAGE, parseNumber, parseParams, parseSlug, repoPath, runApiCommand, when, type Client } from './server-client.ts';

const usage = `usage: runlog build <command> <owner/name> [...]

  ls <owner/name> [--branch b] [--page n] [--limit n]     builds, newest first
  info <owner/name> <number>                               a build with its stages and steps
  create <owner/name> [--branch b] [--commit sha] [--config file] [--param K=V ...]
                    the repo's config at the commit (default: the branch head);
                    --config file overrides it
  restart <owner/name> <number> [--param K=V ...]          a new build of the same commit and config
  restart <owner/name> <number> --from-step <stage>/<step> run again from that step
  cancel <owner/name> <number>
  approve <owner/name> <number> [stage]   |   decline <owner/name> <number> [stage]
  promote <owner/name> <number> <target> [--param K=V ...]
  logs <owner/name> <number> <stage> <step> [--follow]     a step's output (--follow: until it ends)

${CLIENT_FLAGS_USAGE}`;

type Step = { number: number; name: string; status: string; exit_code: number; skip_reason?: string };
type Stage = { number: number; name: string; status: string; machine: string; steps: Step[] };
type Build = {
  number: number;
  status: string;
  event: string;
  target: string;
  ref: string;
  after: string;
  sender: string;
  trigger: string;
  parent: number;
  deploy_to: string;
  error: string;
  message: string;
  params: Record<string, string>;
  created: number;
  started: number;
  finished: number;
  stages?: Stage[];
};

const options = {
  branch: { type: 'string' },
  commit: { type: 'string' },
  config: { type: 'string' },
  param: { type: 'string', multiple: true, short: 'p' },
  page: { type: 'string' },
  limit: { type: 'string' },
  'from-step': { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  interval: { type: 'string' },
} as const;

export const run = (args: string[], io: { stdout?: NodeJS.WritableStream; env?: NodeJS.ProcessEnv } = {}): Promise<number> =>
  runApiCommand('build', { args, options, usage }, io, async ({ values, positionals, connect, stdout, show, list }) => {
    const [command, ...rest] = positionals;
    if (command === undefined) throw new UsageError(`expected a command: ls, info, create, restart, cancel, approve, decline, promote, logs\n\n${usage}`);
    const client = connect();
    const out = (build: Build) => show(build, describe(build));
    const expect = (count: number, form: string) => {
      if (rest.length > count) throw new UsageError(`unexpected argument '${rest[count]}': runlog build ${command} ${form}`);
    };
    switch (command) {
      case 'ls': {
        expect(1, '<owner/name>');
        const repo = parseSlug(rest[0]);
        const query = {
          branch: values.branch,
          page: values.page === undefined ? undefined : String(parseNumber(values.page, '--page')),
          per_page: values.limit === undefined ? undefined : String(parseNumber(values.limit, '--limit')),
        };
        const { body } = await client.request<Build[]>('GET', `${repoPath(repo)}/builds`, { query });
        list(body, `no builds of ${repo.slug}${values.branch ? ` on ${values.branch}` : ''}\n`, ['BUILD', 'STATUS', 'EVENT', 'BRANCH', 'COMMIT', 'BY', 'CREATED'], (b) => [`#${b.number}`, b.status, b.event, b.target, b.after.slice(0, 8), b.sender || b.trigger, when(b.created)]);
        return 0;
      }
      case 'info': {
        expect(2, '<owner/name> <number>');
        const repo = parseSlug(rest[0]);
        out((await client.request<Build>('GET', `${repoPath(repo)}/builds/${parseNumber(rest[1], 'a build number')}`)).body);
        return 0;
      }
      case 'create': {
        expect(1, '<owner/name>');
        const repo = parseSlug(rest[0]);
        const config = values.config === undefined ? undefined : await readConfig(values.config);
        const query = { branch: values.branch, commit: values.commit, ...parseParams(values.param) };
        out((await client.request<Build>('POST', `${repoPath(repo)}/builds`, { query, json: config === undefined ? {} : { config } })).body);
        return 0;
      }
      case 'restart': {
        expect(2, '<owner/name> <number>');
        const repo = parseSlug(rest[0]);
        const number = parseNumber(rest[1], 'a build number');
        const from = values['from-step'];
        if (from === undefined) {
          out((await client.request<Build>('POST', `${repoPath(repo)}/builds/${number}`, { query: parseParams(values.param) })).body);
          return 0;
        }
        const match = /^(\d+)\/(\d+)$/.exec(from);
        if (!match) throw new UsageError(`--from-step expects <stage>/<step> by number, like 1/3, got ${JSON.stringify(from)}`);
        const query = { stage: match[1], step: match[2], ...parseParams(values.param) };
        out((await client.request<Build>('POST', `${repoPath(repo)}/builds/${number}/restart`, { query })).body);
        return 0;
      }
      case 'cancel':
      case 'approve':
      case 'decline': {
        expect(command === 'cancel' ? 2 : 3, `<owner/name> <number>${command === 'cancel' ? '' : ' [stage]'}`);
        const repo = parseSlug(rest[0]);
        const number = parseNumber(rest[1], 'a build number');
        const stage = rest[2] === undefined ? '' : `/${parseNumber(rest[2], 'a stage number')}`;
        const path = command === 'cancel' ? `${repoPath(repo)}/builds/${number}` : `${repoPath(repo)}/builds/${number}/${command}${stage}`;
        out((await client.request<Build>(command === 'cancel' ? 'DELETE' : 'POST', path)).body);
        return 0;
      }
      case 'promote': {
        expect(3, '<owner/name> <number> <target>');
        const repo = parseSlug(rest[0]);
        const number = parseNumber(rest[1], 'a build number');
        if (!rest[2]) throw new UsageError('expected the target to promote to, like: runlog build promote octocat/hello 42 production');
        const query = { ...parseParams(values.param), target: rest[2] };
        out((await client.request<Build>('POST', `${repoPath(repo)}/builds/${number}/promote`, { query })).body);
        return 0;
      }
      case 'logs':
        expect(4, '<owner/name> <number> <stage> <step>');
        return await logs(client, rest, { follow: values.follow === true, json: values.json === true, intervalMs: values.interval === undefined ? 1000 : parseMillis(values.interval) }, stdout);
      default:
        throw new UsageError(`unknown command '${command}': expected ls, info, create, restart, cancel, approve, decline, promote or logs`);
    }
  });

async function readConfig(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--config: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function parseMillis(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!match) throw new UsageError(`--interval expects a duration like 500ms or 2s, got ${JSON.stringify(text)}`);
  return Number(match[1]) * (match[2] === 'ms' ? 1 : 1000);
}

type Line = { pos: number; out: string; time: number };
const ENDED = new Set(['success', 'failure', 'killed', 'error', 'skipped', 'declined', 'blocked']);

/**
 * Prints a step's output. With --follow it polls until the step has ended, printing each
 * line once it is complete (a line still being written may grow), then the rest.
 */
async function logs(client: Client, rest: string[], options: { follow: boolean; json: boolean; intervalMs: number }, stdout: NodeJS.WritableStream): Promise<number> {
  const repo = parseSlug(rest[0]);
  const number = parseNumber(rest[1], 'a build number');
  const stage = parseNumber(rest[2], 'a stage number');
  const step = parseNumber(rest[3], 'a step number');
  const path = `${repoPath(repo)}/builds/${number}/logs/${stage}/${step}`;
  let printed = 0;
  const print = (lines: Line[], all: boolean) => {
    for (const line of lines.slice(printed)) {
      if (!all && !line.out.endsWith('\n')) break;
      stdout.write(options.json ? `${JSON.stringify(line)}\n` : line.out);
      printed += 1;
    }
  };
  if (!options.follow) {
    print((await client.request<Line[]>('GET', path)).body, true);
    return 0;
  }
  for (;;) {
    // The step's state first: once it has ended, the log read after it is the whole log.
    const build = (await client.request<Build>('GET', `${repoPath(repo)}/builds/${number}`)).body;
    const found = build.stages?.find((s) => s.number === stage)?.steps.find((s) => s.number === step);
    if (!found) throw new UsageError(`build ${repo.slug}#${number} has no step ${stage}/${step}: see runlog build info ${repo.slug} ${number}`);
    const ended = ENDED.has(found.status) || ENDED.has(build.status);
    print((await client.request<Line[]>('GET', path)).body, ended);
    if (ended) return 0;
    await sleep(options.intervalMs);
  }
}

/** A build as `drone build info` shows it, with its stages and steps. */
function describe(build: Build): string {
  const lines = [
    `Build #${build.number}: ${build.status}${build.error ? ` (${build.error.split('\n')[0]})` : ''}`,
    `Event:   ${build.event}${build.deploy_to ? ` to ${build.deploy_to}` : ''}`,
    `Ref:     ${build.ref}`,
    `Commit:  ${build.after || '-'}`,
    `By:      ${build.trigger || build.sender || '-'}`,
    ...(build.parent ? [`Parent:  #${build.parent}`] : []),
    ...(Object.keys(build.params ?? {}).length > 0 ? [`Params:  ${Object.entries(build.params).map(([k, v]) => `${k}=${v}`).join(' ')}`] : []),
    `Created: ${when(build.created)}   Started: ${when(build.started)}   Finished: ${when(build.finished)}`,
  ];
  for (const stage of build.stages ?? []) {
    lines.push(`  stage ${stage.number} ${stage.name}: ${stage.status}${stage.machine ? ` on ${stage.machine}` : ''}`);
    for (const step of stage.steps) {
      const detail = step.skip_reason ? ` (${step.skip_reason})` : ENDED.has(step.status) && step.status !== 'skipped' ? ` exit ${step.exit_code}` : '';
      lines.push(`    ${stage.number}/${step.number} ${step.name}: ${step.status}${detail}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
